// NODE_ID goes into tickets, bus channel names and Redis keys: it is an id as the protocol defines
// one (MAX_ID_LENGTH), checked at start with a clear message.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { MAX_ID_LENGTH } from '../../src/protocol/index.js';

describe('NODE_ID', () => {
  it('takes an id up to MAX_ID_LENGTH characters, and nothing is a default', () => {
    expect(loadConfig({ NODE_ID: 'n'.repeat(MAX_ID_LENGTH) }).NODE_ID).toBe('n'.repeat(MAX_ID_LENGTH));
    expect(loadConfig({ NODE_ID: 'proc-1' }).NODE_ID).toBe('proc-1');
    expect(loadConfig({}).NODE_ID).toBeUndefined();
  });

  it('refuses a longer one at start, naming the setting and the limit', () => {
    let err: unknown;
    try {
      loadConfig({ NODE_ID: 'n'.repeat(MAX_ID_LENGTH + 1) });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toContain('NODE_ID');
    expect((err as Error).message).toContain(`at most ${MAX_ID_LENGTH} characters`);
  });
});
