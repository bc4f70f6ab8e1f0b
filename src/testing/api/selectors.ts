import type { SliceMeta } from './store.js';

/** A selector the API server cannot parse or does not support: its message is the 400's message. */
export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

/** Tests a set of labels. */
export type LabelMatcher = (labels: Readonly<Record<string, string>>) => boolean;

type Operator = '=' | '==' | '!=' | 'in' | 'notin' | 'exists' | '!' | 'gt' | 'lt';

interface Requirement {
  key: string;
  op: Operator;
  values: string[];
}

// Qualified names and label values as apimachinery validates them.
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkKey(key: string): void {
  const slash = key.indexOf('/');
  const [prefix, name] = slash === -1 ? [null, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (!NAME.test(name) || (prefix !== null && (prefix.length > 253 || !PREFIX.test(prefix)))) {
    throw new SelectorError(
      `unable to parse requirement: key: Invalid value: "${key}": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function checkValue(key: string, value: string): void {
  if (value !== '' && !NAME.test(value)) {
    throw new SelectorError(
      `unable to parse requirement: values[0][${key}]: Invalid value: "${value}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

/** Splits a selector into tokens: identifiers and the operators `= == != ! ( ) , < >`. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '=' || c === '!') {
      const two = text.slice(i, i + 2);
      if (two === '==' || two === '!=') {
        tokens.push(two);
        i += 2;
      } else {
        tokens.push(c);
        i++;
      }
    } else if ('(),<>'.includes(c)) {
      tokens.push(c);
      i++;
    } else {
      let j = i;
      while (j < text.length && !/[\s=!(),<>]/.test(text[j]!)) j++;
      tokens.push(text.slice(i, j));
      i = j;
    }
  }
  return tokens;
}

const isIdentifier = (t: string | undefined): t is string => t !== undefined && !/^[=!(),<>]/.test(t);

/** Parses a label selector with the API server's grammar: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a)`, `k`, `!k`, `k>1`, `k<1`, comma-separated. */
export function parseLabelSelector(text: string): LabelMatcher {
  const tokens = tokenize(text);
  const requirements: Requirement[] = [];
  let i = 0;
  const fail = (what: string): never => {
    throw new SelectorError(`unable to parse requirement: found '${tokens[i] ?? ''}', expected: ${what}`);
  };
  while (i < tokens.length) {
    let negated = false;
    if (tokens[i] === '!') {
      negated = true;
      i++;
    }
    const key = tokens[i];
    if (!isIdentifier(key)) fail('identifier');
    checkKey(key!);
    i++;
    if (negated) {
      requirements.push({ key: key!, op: '!', values: [] });
    } else if (i >= tokens.length || tokens[i] === ',') {
      requirements.push({ key: key!, op: 'exists', values: [] });
    } else {
      const op = tokens[i]!;
      i++;
      if (op === '=' || op === '==' || op === '!=') {
        // An empty value is allowed: `k=` matches k with value "".
        const value = isIdentifier(tokens[i]) ? tokens[i++]! : '';
        checkValue(key!, value);
        requirements.push({ key: key!, op, values: [value] });
      } else if (op === 'in' || op === 'notin') {
        if (tokens[i] !== '(') fail("'('");
        i++;
        const values: string[] = [];
        while (tokens[i] !== ')') {
          if (i >= tokens.length) fail("')'");
          if (tokens[i] === ',') {
            // An empty value between commas.
            values.push('');
            i++;
            continue;
          }
          if (!isIdentifier(tokens[i])) fail('identifier');
          values.push(tokens[i++]!);
          if (tokens[i] === ',') {
            i++;
            if (tokens[i] === ')') values.push('');
          } else if (tokens[i] !== ')') {
            fail("',' or ')'");
          }
        }
        i++;
        if (values.length === 0) values.push('');
        for (const v of values) checkValue(key!, v);
        requirements.push({ key: key!, op, values });
      } else if (op === '>' || op === '<') {
        const value = tokens[i++];
        if (!isIdentifier(value) || !/^-?\d+$/.test(value)) {
          throw new SelectorError(`unable to parse requirement: for 'gt', 'lt' operators, the value must be an integer`);
        }
        requirements.push({ key: key!, op: op === '>' ? 'gt' : 'lt', values: [value] });
      } else {
        i--;
        fail("'=', '!=', '==', 'in', 'notin', '>', '<' or ','");
      }
    }
    if (i < tokens.length) {
      if (tokens[i] !== ',') fail("','");
      i++;
      if (i >= tokens.length) fail('identifier');
    }
  }
  return (labels) => requirements.every((r) => matches(r, labels));
}

function matches(r: Requirement, labels: Readonly<Record<string, string>>): boolean {
  const has = Object.hasOwn(labels, r.key);
  const value = labels[r.key];
  switch (r.op) {
    case '=':
    case '==':
    case 'in':
      return has && r.values.includes(value!);
    case '!=':
    case 'notin':
      return !has || !r.values.includes(value!);
    case 'exists':
      return has;
    case '!':
      return !has;
    case 'gt':
    case 'lt': {
      if (!has || !/^-?\d+$/.test(value!)) return false;
      const n = Number(value);
      const bound = Number(r.values[0]);
      return r.op === 'gt' ? n > bound : n < bound;
    }
  }
}

/** Fields of an EndpointSlice a field selector may use, as the API server supports them. */
const FIELDS: Record<string, (meta: SliceMeta) => string> = {
  'metadata.name': (m) => m.name,
  'metadata.namespace': (m) => m.namespace,
};

/**
 * Parses a field selector (`f=v`, `f==v`, `f!=v`, comma-separated; `\` escapes `\`, `,`, `=` and
 * `!`) over the fields EndpointSlices support: `metadata.name` and `metadata.namespace`.
 */
export function parseFieldSelector(text: string): (meta: SliceMeta) => boolean {
  const terms: { get: (meta: SliceMeta) => string; negated: boolean; value: string }[] = [];
  for (const term of splitUnescaped(text, ',')) {
    if (term === '') continue;
    const m = /^((?:[^\\=!]|\\.)*)(==|!=|=)(.*)$/s.exec(term);
    if (!m) throw new SelectorError(`invalid selector: '${text}'; can't understand '${term}'`);
    const field = unescape(m[1]!);
    const get = FIELDS[field];
    if (!get) throw new SelectorError(`field label not supported: ${field}`);
    const raw = m[3]!;
    if (/(^|[^\\])(\\\\)*[=!]/.test(raw)) throw new SelectorError(`invalid selector: '${text}'; can't understand '${term}'`);
    terms.push({ get, negated: m[2] === '!=', value: unescape(raw) });
  }
  return (meta) => terms.every((t) => (t.get(meta) === t.value) !== t.negated);
}

function splitUnescaped(text: string, separator: string): string[] {
  const out: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && i + 1 < text.length) {
      current += c + text[++i]!;
    } else if (c === separator) {
      out.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  out.push(current);
  return out;
}

const unescape = (text: string): string => text.replace(/\\(.)/g, '$1');
