/**
 * Names a `%%serverless` option binds: `--as NAME` in every invocation,
 * `--out NAME` in the kernel. A name the language reserves fails there, once
 * per invocation, so it is refused on the magic line instead.
 */

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/**
 * Words a binding may not use in strict-mode code (bodies run strict):
 * ECMAScript's reserved words, the literals, the strict-mode reserved words,
 * `await` and `yield` (bodies are async functions), `eval` and `arguments`.
 */
const RESERVED = new Set([
  'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do',
  'else', 'enum', 'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'import', 'in',
  'instanceof', 'new', 'null', 'return', 'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof',
  'var', 'void', 'while', 'with',
  'implements', 'interface', 'let', 'package', 'private', 'protected', 'public', 'static', 'yield',
  'await', 'eval', 'arguments',
]); // prettier-ignore

/** Names the code an invocation runs in already binds (see plan/compile.ts). */
const WRAPPER_NAMES = new Set(['require', 'module', 'exports']);

/**
 * Why `name` cannot name the variable an option binds, or undefined when it
 * can. `inInvocation`: the name is bound in the invocation's code (`--as`).
 */
export function bindingNameProblem(name: string, inInvocation: boolean): string | undefined {
  if (!IDENTIFIER.test(name)) {
    return 'must be a JavaScript identifier (letters, digits, _ or $, not starting with a digit).';
  }
  if (RESERVED.has(name)) {
    return `'${name}' is a reserved word in JavaScript and cannot name a variable; choose another name.`;
  }
  if (inInvocation && WRAPPER_NAMES.has(name)) {
    return `'${name}' is already bound in the code an invocation runs; choose another name.`;
  }
  return undefined;
}
