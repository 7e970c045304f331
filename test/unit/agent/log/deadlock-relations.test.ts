import { describe, expect, it } from 'vitest';
import {
  logLockObject,
  nameDeadlockRelations,
  relationRefs,
} from '../../../../src/agent/targets/postgres/deadlock-relations.js';
import type { DeadlockReport } from '../../../../src/core/log-event.js';
import type { RelationRef } from '../../../../src/core/ports.js';

const report: DeadlockReport = {
  at: 0,
  victimPid: 2,
  database: 'shop',
  processes: [
    {
      pid: 1,
      waitsForMode: 'ShareLock',
      waitsForObject: 'transaction 9',
      relation: null,
      blockedBy: 2,
      query: 'UPDATE a',
    },
    {
      pid: 2,
      waitsForMode: 'ExclusiveLock',
      waitsForObject: 'tuple (0,1) of relation 16385 of database 5',
      relation: null,
      blockedBy: 1,
      query: 'UPDATE b',
    },
    {
      pid: 3,
      waitsForMode: 'RowExclusiveLock',
      waitsForObject: 'relation 16390 of database 5',
      relation: 'public.named_by_the_log',
      blockedBy: 2,
      query: 'UPDATE c',
    },
  ],
};
const signal = new AbortController().signal;

describe('nameDeadlockRelations', () => {
  it('asks the target only for the OIDs the log did not name, and fills them in', async () => {
    const asked: RelationRef[][] = [];
    const named = await nameDeadlockRelations(
      report,
      (refs) => {
        asked.push([...refs]);
        return Promise.resolve(new Map([['5/16385', 'public.inventory']]));
      },
      signal,
    );
    expect(asked).toEqual([[{ databaseOid: 5, relationOid: 16385 }]]);
    expect(named.processes.map((p) => p.relation)).toEqual([
      null,
      'public.inventory',
      'public.named_by_the_log',
    ]);
  });

  it('hands the report on unnamed when the target cannot answer (down, another database)', async () => {
    const named = await nameDeadlockRelations(
      report,
      () => Promise.reject(new Error('connection refused')),
      signal,
    );
    expect(named.processes.map((p) => p.relation)).toEqual(report.processes.map((p) => p.relation));
  });

  it('does not ask when no lock object names a relation by OID', async () => {
    let asked = 0;
    const onlyTransactions: DeadlockReport = { ...report, processes: report.processes.slice(0, 1) };
    const named = await nameDeadlockRelations(
      onlyTransactions,
      () => {
        asked++;
        return Promise.resolve(new Map());
      },
      signal,
    );
    expect(asked).toBe(0);
    expect(named.processes.map((p) => p.relation)).toEqual([null]);
  });

  it('tells each lock as what it is: a transaction of the pid that blocks, a row with its ctid, a relation', async () => {
    const named = await nameDeadlockRelations(
      report,
      () => Promise.resolve(new Map([['5/16385', 'public.inventory']])),
      signal,
    );
    expect(named.processes.map((p) => p.lockObject)).toEqual([
      { kind: 'transaction', transactionId: '9', holderPid: 2, row: null },
      { kind: 'row', relation: 'public.inventory', relationOid: 16385, ctid: '(0,1)' },
      { kind: 'relation', relation: 'public.named_by_the_log', relationOid: 16390 },
    ]);
  });
});

describe('logLockObject', () => {
  it('reads advisory keys (bigint and two-int4 forms), virtual transactions and other lock types', () => {
    // pg_advisory_lock(5000000000): classid 1 (high), objid 705032704 (low), objsubid 1.
    expect(logLockObject('advisory lock [5,1,705032704,1]', 7, null)).toEqual({
      kind: 'advisory',
      key: '5000000000',
    });
    expect(logLockObject('advisory lock [5,4294967293,7,2]', 7, null)).toEqual({
      kind: 'advisory',
      key: '-3,7',
    });
    expect(logLockObject('virtual transaction 4/12', 7, null)).toEqual({
      kind: 'virtual_transaction',
      virtualXid: '4/12',
      holderPid: 7,
    });
    expect(logLockObject('extension of relation 16385 of database 5', 7, 'public.t')).toEqual({
      kind: 'other',
      lockType: 'extension',
      relation: 'public.t',
    });
    expect(logLockObject('transaction 9', 3, 'accounts')).toEqual({
      kind: 'transaction',
      transactionId: '9',
      holderPid: 3,
      row: { kind: 'row', relation: 'accounts', relationOid: null, ctid: null },
    });
  });
});

describe('relationRefs', () => {
  it('reads OIDs from PostgreSQL lock object descriptions', () => {
    expect(relationRefs('relation 16390 of database 16384')).toEqual([
      { relationOid: 16390, databaseOid: 16384 },
    ]);
    expect(relationRefs('tuple (0,5) of relation 16385 of database 16384')).toEqual([
      { relationOid: 16385, databaseOid: 16384 },
    ]);
    expect(relationRefs('transaction 1234')).toEqual([]);
  });
});
