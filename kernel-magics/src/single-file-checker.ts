/**
 * A type checker over one parsed file, alone: no lib, no module resolution.
 * Names the file does not declare resolve to nothing, which is how callers
 * tell a file's free identifiers from its own (the binder and checker apply
 * the language's scoping: shadowing, hoisting, destructuring, closures).
 */
import * as ts from '@tslab/typescript-for-tslab';

/** A checker whose program holds `sourceFile` and nothing else. */
export function singleFileChecker(sourceFile: ts.SourceFile): ts.TypeChecker {
  const fileName = sourceFile.fileName;
  const host: ts.CompilerHost = {
    getSourceFile: (name) => (name === fileName ? sourceFile : undefined),
    getDefaultLibFileName: () => 'lib.d.ts',
    writeFile: () => undefined,
    getCurrentDirectory: () => '/',
    getCanonicalFileName: (name) => name,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
    fileExists: (name) => name === fileName,
    readFile: () => undefined,
  };
  const options: ts.CompilerOptions = {
    noLib: true,
    noResolve: true,
    types: [],
    target: ts.ScriptTarget.ES2022,
  };
  return ts.createProgram({ rootNames: [fileName], options, host }).getTypeChecker();
}
