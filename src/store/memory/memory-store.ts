import type { IncidentStore, StoreRepositories } from '../../core/incident-store.js';
import { memoryRepositories } from './memory-repositories.js';
import { emptyTables, TableAccess, undo, type Tables, type UndoJournal } from './memory-tables.js';

/**
 * The store in memory: the fake that unit and scenario tests run on, passing the same contract suite
 * as the PostgreSQL store. `transact` serializes per lock name (a promise chain per name, like an
 * advisory lock) and undoes what its work wrote when the work rejects. Not durable; one process.
 */
export class MemoryStore implements IncidentStore {
  readonly #tables: Tables = emptyTables();
  readonly #seq = { value: 0 };
  readonly #repositories: StoreRepositories = memoryRepositories(
    new TableAccess(this.#tables, this.#seq, null),
  );
  /** The tail of each lock's queue: resolves when the last transaction holding it ends. */
  readonly #locks = new Map<string, Promise<unknown>>();

  get findings(): StoreRepositories['findings'] {
    return this.#repositories.findings;
  }
  get alerts(): StoreRepositories['alerts'] {
    return this.#repositories.alerts;
  }
  get incidents(): StoreRepositories['incidents'] {
    return this.#repositories.incidents;
  }
  get timeline(): StoreRepositories['timeline'] {
    return this.#repositories.timeline;
  }
  get evidence(): StoreRepositories['evidence'] {
    return this.#repositories.evidence;
  }
  get ruleStates(): StoreRepositories['ruleStates'] {
    return this.#repositories.ruleStates;
  }
  get services(): StoreRepositories['services'] {
    return this.#repositories.services;
  }
  get targets(): StoreRepositories['targets'] {
    return this.#repositories.targets;
  }
  get tokens(): StoreRepositories['tokens'] {
    return this.#repositories.tokens;
  }
  get paging(): StoreRepositories['paging'] {
    return this.#repositories.paging;
  }
  get escalations(): StoreRepositories['escalations'] {
    return this.#repositories.escalations;
  }
  get outbox(): StoreRepositories['outbox'] {
    return this.#repositories.outbox;
  }
  get signals(): StoreRepositories['signals'] {
    return this.#repositories.signals;
  }
  get deploys(): StoreRepositories['deploys'] {
    return this.#repositories.deploys;
  }
  get metrics(): StoreRepositories['metrics'] {
    return this.#repositories.metrics;
  }

  transact<T>(lock: string, work: (tx: StoreRepositories) => Promise<T>): Promise<T> {
    const previous = this.#locks.get(lock) ?? Promise.resolve();
    const run = previous.then(async () => {
      const journal: UndoJournal = [];
      try {
        return await work(memoryRepositories(new TableAccess(this.#tables, this.#seq, journal)));
      } catch (error) {
        undo(this.#tables, journal);
        throw error;
      }
    });
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#locks.set(lock, tail);
    // Forget the lock once nobody queues behind it, so lock names do not accumulate.
    void tail.then(() => {
      if (this.#locks.get(lock) === tail) this.#locks.delete(lock);
    });
    return run;
  }

  ping(): Promise<boolean> {
    return Promise.resolve(true);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
