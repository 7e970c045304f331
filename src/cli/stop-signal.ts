/** Resolves with the signal's name at the first SIGINT or SIGTERM, then stops listening for both. */
export const stopSignal = (): Promise<string> =>
  new Promise((resolve) => {
    const on = (signal: string) => () => {
      process.off('SIGINT', int);
      process.off('SIGTERM', term);
      resolve(signal);
    };
    const int = on('SIGINT');
    const term = on('SIGTERM');
    process.once('SIGINT', int);
    process.once('SIGTERM', term);
  });
