import type { Deploy } from './app-signal.js';

/**
 * "Began N min after deploy vX": the service's last deploy at or before the incident's onset, when
 * it is recent enough to be a suspect (`DEPLOY_ONSET_BOUND_MS`, 2 h). The onset is when the
 * incident opened: the first alert of its service — a deadlock seen by the agent or an error rate
 * over its window — so the suspect is the deploy that went out before anything was wrong.
 */
export interface OnsetDeploy {
  readonly version: string;
  readonly commit: string | null;
  readonly at: number;
  /** (onset − deploy) in minutes, two decimals (0.05 min = 3 s). */
  readonly minutesBeforeOnset: number;
}

export const DEPLOY_ONSET_BOUND_MS = 2 * 60 * 60_000;

/** The onset deploy, or null without a deploy in [onset − bound, onset]. */
export const deployOnset = (
  deploy: Deploy | null,
  onset: number,
  boundMs: number = DEPLOY_ONSET_BOUND_MS,
): OnsetDeploy | null => {
  if (deploy === null || deploy.at > onset || onset - deploy.at > boundMs) return null;
  return {
    version: deploy.version,
    commit: deploy.commit,
    at: deploy.at,
    minutesBeforeOnset: Math.round((onset - deploy.at) / 600) / 100,
  };
};
