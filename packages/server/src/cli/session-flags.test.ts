import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { SessionConfigSchema } from '../config.js';
import { StartSessionSchema } from '../http/schemas.js';
import { parse } from './args.js';
import { SESSION_FLAGS, SESSION_HELP, startConfig } from './session.js';
import { configFlags, configFromFlags, FLAG_ALIASES, flagOptions, kebab } from './session-flags.js';

/** Every field of an object schema, nested objects as dotted paths: walked here from `.shape`, not by the code under test. */
function leafPaths(schema: z.ZodObject, prefix = ''): string[] {
  return Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([key, t]) => {
    let inner: z.ZodType = t;
    while (inner instanceof z.ZodOptional || inner instanceof z.ZodDefault) inner = (inner as z.ZodOptional).unwrap() as z.ZodType;
    return inner instanceof z.ZodObject ? leafPaths(inner, `${prefix}${key}.`) : [`${prefix}${key}`];
  });
}
const flagOf = (path: string): string => path.split('.').map(kebab).join('.');

describe('session config flags, generated from the schema', () => {
  it("the help lists a flag for every field of the session config (and the session id), and nothing else", () => {
    const paths = leafPaths(StartSessionSchema);
    expect(paths).toEqual(expect.arrayContaining(leafPaths(SessionConfigSchema)));
    expect(paths.length).toBeGreaterThan(30);
    const helpFlags = [...SESSION_HELP.slice(SESSION_HELP.indexOf('session config')).matchAll(/^ {2}--([a-z0-9.-]+)/gm)].map((m) => m[1]);
    expect(helpFlags.sort()).toEqual(paths.map(flagOf).sort());
    expect(SESSION_FLAGS.map((f) => f.path.join('.')).sort()).toEqual([...paths].sort());
  });

  it('picks up a field added to a schema without a change to the CLI: every kind, nested objects dotted', () => {
    const schema = z.object({
      count: z.number().int().min(2).max(9).default(3),
      rate: z.number().positive().optional(),
      on: z.boolean().default(false),
      mode: z.enum(['a', 'b']).default('a'),
      label: z.string().optional(),
      tags: z.array(z.string()).default([]),
      kinds: z.array(z.enum(['x', 'y'])).default([]),
      nested: z.object({ deepValue: z.number(), inner: z.object({ flag: z.boolean() }).optional() }).default({ deepValue: 1 }),
      blob: z.record(z.string(), z.unknown()).default({}),
    });
    const flags = configFlags(schema);
    expect(flags.map((f) => [f.flag, f.kind])).toEqual([
      ['count', 'int'],
      ['rate', 'number'],
      ['on', 'boolean'],
      ['mode', 'enum'],
      ['label', 'string'],
      ['tags', 'list'],
      ['kinds', 'list'],
      ['nested.deep-value', 'number'],
      ['nested.inner.flag', 'boolean'],
      ['blob', 'json'],
    ]);
    expect(flags[0]).toMatchObject({ min: 2, max: 9, defaultValue: 3 });
    expect(flags[6]?.choices).toEqual(['x', 'y']);
    const args = ['--count', '4', '--on', '--mode', 'b', '--tags', 't1', '--tags', 't2', '--nested.deep-value', '0.5', '--nested.inner.flag', '--blob', '{"k":[1]}'];
    const { values } = parse(args, flagOptions(flags));
    const config = configFromFlags(flags, values);
    expect(config).toEqual({ count: 4, on: true, mode: 'b', tags: ['t1', 't2'], nested: { deepValue: 0.5, inner: { flag: true } }, blob: { k: [1] } });
    expect(schema.parse(config)).toMatchObject(config);
    expect(() => configFlags(schema, ['mode'])).toThrow(/collides with the CLI option --mode/);
  });

  it('turns flags into the config the server takes: numbers, booleans (and --no-), lists, nested, JSON, aliases, a --config file underneath', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fedweb-flags-'));
    try {
      const file = join(dir, 'c.json');
      await writeFile(file, JSON.stringify({ rounds: 9, selection: { requireVisible: true }, strategy: { name: 'fedyogi', options: { eta: 0.1 } } }));
      const args = ['--config', file, '--rounds', '3', '--strategy', 'fedadam', '--validate', '--no-selection.require-visible', '--exclude-connection', 'cellular', '--selection.platforms', 'node', '--validity.min-combiners', '2', '--extra', '{"note":"x"}', '--id', 'run-1', '--learning-rate', '0.05'];
      const { values } = parse(args, { config: { type: 'string' }, ...flagOptions(SESSION_FLAGS) });
      const config = await startConfig(values);
      expect(config).toEqual({
        id: 'run-1',
        rounds: 3,
        learningRate: 0.05,
        validate: true,
        strategy: { name: 'fedadam', options: { eta: 0.1 } },
        selection: { requireVisible: false, excludeConnectionTypes: ['cellular'], platforms: ['node'] },
        validity: { minCombiners: 2 },
        extra: { note: 'x' },
      });
      expect(StartSessionSchema.parse(config).strategy.name).toBe('fedadam');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('names the flag that is wrong, before anything is sent', async () => {
    const run = (args: string[]) => startConfig(parse(args, flagOptions(SESSION_FLAGS)).values);
    await expect(run(['--rounds', 'many'])).rejects.toMatchObject({ code: 'BAD_CONFIG', message: "--rounds must be an integer, got 'many'" });
    await expect(run(['--rounds', '0'])).rejects.toMatchObject({ code: 'BAD_CONFIG', message: expect.stringMatching(/^--rounds: /) });
    await expect(run(['--encoding', 'f16'])).rejects.toMatchObject({ message: "--encoding must be one of f32, int8, int4, topk, got 'f16'" });
    await expect(run(['--selection.platforms', 'tv'])).rejects.toMatchObject({ message: expect.stringContaining("got 'tv'") });
    await expect(run(['--extra', '{oops'])).rejects.toMatchObject({ message: expect.stringMatching(/^--extra must be JSON/) });
    await expect(run(['--selection.min-battery', '2'])).rejects.toMatchObject({ message: expect.stringMatching(/^--selection\.min-battery: /) });
    expect(() => parse(['--no-such-flag', '1'], flagOptions(SESSION_FLAGS))).toThrow(/no-such-flag/);
  });

  it('every alias of an old flag name points at a generated flag', () => {
    for (const target of Object.values(FLAG_ALIASES)) expect(SESSION_FLAGS.map((f) => f.flag)).toContain(target);
  });
});
