import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { incidentStoreContract } from './incident-store.contract.js';

incidentStoreContract('MemoryStore', () => Promise.resolve(new MemoryStore()));
