import type { Command } from 'commander';
import { withServerOptions, type ServerFlags } from './incidents-command.js';

/** The state changes the CLI offers, by command name → the API's action. */
const ACTIONS = {
  ack: 'acknowledge',
  mitigate: 'mitigate',
  resolve: 'resolve',
  reopen: 'reopen',
  close: 'close',
  cancel: 'cancel',
} as const;

const ACTION_HELP: Readonly<Record<keyof typeof ACTIONS, string>> = {
  ack: 'Acknowledge it: someone is on it.',
  mitigate: 'Mark it mitigated: the impact is over, the cause may not be.',
  resolve: 'Resolve it.',
  reopen: 'Reopen a resolved incident.',
  close: 'Close a resolved incident: the record is complete.',
  cancel: 'Cancel it: a false alarm.',
};

export function registerIncidentCommand(program: Command): void {
  const incident = program
    .command('incident')
    .description('Show or change one incident on a Hindsight server.');
  withServerOptions(
    incident
      .command('show')
      .description('The incident with its alerts, timeline and evidence.')
      .argument('<id>')
      .option('--json', 'print the JSON the server sent', false),
  ).action(async (id: string, flags: ServerFlags & { json: boolean }) => {
    const { showIncident } = await import('./incident-run.js');
    await showIncident(id, flags);
  });
  for (const [name, action] of Object.entries(ACTIONS) as [
    keyof typeof ACTIONS,
    (typeof ACTIONS)[keyof typeof ACTIONS],
  ][]) {
    withServerOptions(incident.command(name).description(ACTION_HELP[name]).argument('<id>')).action(
      async (id: string, flags: ServerFlags) => {
        const { changeIncident } = await import('./incident-run.js');
        await changeIncident(id, action, flags);
      },
    );
  }
  withServerOptions(
    incident
      .command('note')
      .description("Add a note to the incident's timeline.")
      .argument('<id>')
      .argument('<text>', 'the note (quote it)')
      .option('--dead-end', 'this line of investigation led nowhere (kept for the postmortem)', false),
  ).action(async (id: string, text: string, flags: ServerFlags & { deadEnd: boolean }) => {
    const { addNote } = await import('./incident-run.js');
    await addNote(id, { text, deadEnd: flags.deadEnd }, flags);
  });
}
