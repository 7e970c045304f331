import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { incidentStoreContract } from './incident-store.contract.js';
import { pagingStoreContract } from './paging-store.contract.js';
import { signalStoreContract } from './signal-store.contract.js';
import { metricsStoreContract } from './metrics-store.contract.js';

incidentStoreContract('MemoryStore', () => Promise.resolve(new MemoryStore()));
pagingStoreContract('MemoryStore', () => Promise.resolve(new MemoryStore()));
signalStoreContract('MemoryStore', () => Promise.resolve(new MemoryStore()));
metricsStoreContract('MemoryStore', () => Promise.resolve(new MemoryStore()));
