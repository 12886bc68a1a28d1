/**
 * Typed readers for untrusted JSON (manifest.json, hub config.json, worker messages). Each reader
 * checks one field and throws the caller's error class with the field's path, the rule it broke and
 * a short rendering of what it found — never more than a few characters of the value, so an error
 * cannot echo a file's content back.
 */

/** Error classes the readers throw: any `Error` subclass whose constructor takes just the message. */
export type MessageErrorClass = new (message: string) => Error;

export interface ReadContext {
  /** What is being read, first in every message: a file name, a URL or "worker request". */
  readonly source: string;
  readonly error: MessageErrorClass;
  /** What to do about it, last in every message. */
  readonly hint: string;
}

export interface IntBounds {
  readonly min: number;
  readonly max: number;
}

export interface StringRule {
  /** 1 unless given. */
  readonly minLength?: number;
  readonly maxLength: number;
  readonly pattern?: RegExp;
  /** The pattern in words, for the message. */
  readonly patternText?: string;
}

const SHOWN_CHARS = 40;

/** A short, safe rendering of a found value for an error message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const shown = JSON.stringify(value.length > SHOWN_CHARS ? `${value.slice(0, SHOWN_CHARS)}…` : value);
    return `the string ${shown}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint')
    return `${typeof value} ${value}`;
  return `a ${typeof value}`;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function boundsText({ min, max }: IntBounds): string {
  return min === max ? `the integer ${min}` : `an integer from ${min} to ${max}`;
}

/** One value inside a JSON document, with the path that leads to it. */
export class JsonField {
  private constructor(
    readonly value: unknown,
    /** Dotted path from the document root ('' for the root itself), e.g. `files[2].sha256`. */
    readonly path: string,
    private readonly context: ReadContext,
  ) {}

  static root(value: unknown, context: ReadContext): JsonField {
    return new JsonField(value, '', context);
  }

  /** The field at a dotted path below this one, present or not: `graphs.encoder.file`. */
  field(path: string): JsonField {
    return path.split('.').reduce<JsonField>((parent, key) => {
      const object = parent.object().value as Record<string, unknown>;
      // Own properties only: a key like "constructor" must not reach Object.prototype.
      const value = Object.hasOwn(object, key) ? object[key] : undefined;
      return new JsonField(value, parent.path === '' ? key : `${parent.path}.${key}`, this.context);
    }, this);
  }

  get present(): boolean {
    return this.value !== undefined;
  }

  /** Throws the context's error: `<source>: "<path>" <problem>. <hint>`. */
  fail(problem: string): never {
    const where = this.path === '' ? this.context.source : `${this.context.source}: "${this.path}"`;
    throw new this.context.error(`${where} ${problem}. ${this.context.hint}`);
  }

  private expected(what: string): never {
    return this.fail(`must be ${what}, got ${describeValue(this.value)}`);
  }

  object(): JsonField {
    return isPlainObject(this.value) ? this : this.expected('a JSON object');
  }

  int(bounds: IntBounds): number {
    const v = this.value;
    if (typeof v === 'number' && Number.isInteger(v) && v >= bounds.min && v <= bounds.max) return v;
    return this.expected(boundsText(bounds));
  }

  /** Any number (NaN and infinities included): for values whose range another check owns. */
  number(): number {
    return typeof this.value === 'number' ? this.value : this.expected('a number');
  }

  boolean(): boolean {
    return typeof this.value === 'boolean' ? this.value : this.expected('true or false');
  }

  string(rule: StringRule): string {
    const v = this.value;
    if (typeof v !== 'string') return this.expected('a string');
    const minLength = rule.minLength ?? 1;
    if (v.length < minLength || v.length > rule.maxLength)
      return this.expected(`a string of ${minLength} to ${rule.maxLength} characters`);
    if (rule.pattern && !rule.pattern.test(v))
      return this.expected(rule.patternText ?? `a string matching ${String(rule.pattern)}`);
    return v;
  }

  oneOf<T extends string>(values: readonly T[]): T {
    const v = this.value;
    if (typeof v === 'string' && (values as readonly string[]).includes(v)) return v as T;
    return this.expected(`one of ${values.map((x) => JSON.stringify(x)).join(', ')}`);
  }

  /** The elements of an array of `min` … `max` elements, each with its own path (`files[3]`). */
  items(bounds: IntBounds): JsonField[] {
    const v = this.value;
    if (!Array.isArray(v)) return this.expected(`an array of ${bounds.min} to ${bounds.max} elements`);
    if (v.length < bounds.min || v.length > bounds.max)
      return this.expected(`an array of ${bounds.min} to ${bounds.max} elements`);
    return v.map((item: unknown, i) => new JsonField(item, `${this.path}[${i}]`, this.context));
  }

  ints(length: IntBounds, each: IntBounds): number[] {
    return this.items(length).map((item) => item.int(each));
  }

  /** `read(this)` when the field is present, else undefined. */
  optional<T>(read: (field: JsonField) => T): T | undefined {
    return this.present ? read(this) : undefined;
  }
}
