/**
 * Writes out shorthand properties that name an earlier cell's declaration
 * (`{ aa }` becomes `{ aa: aa }`, `{ aa = 1 } = o` becomes `{ aa: aa = 1 } = o`)
 * before tslab converts a cell, and maps positions in the written-out text
 * back to the cell's own.
 *
 * Why: tslab turns references to earlier cells' declarations into
 * `exports.<name>`, picking them by `checker.getSymbolAtLocation`. For a
 * shorthand property's name that is the property's symbol, not the
 * variable's, so `{ aa }` reached the emitted JavaScript unchanged and threw
 * "aa is not defined". Written out, the value is an ordinary reference,
 * which tslab rewrites. The text only grows within lines (no line breaks are
 * added), so every position maps back exactly.
 */
import * as ts from '@tslab/typescript-for-tslab';

import { singleFileChecker } from './single-file-checker';

/** A position in a cell: offset, and 0-based line and character (UTF-16 units, as TypeScript counts). */
export interface CellPosition {
  offset: number;
  line: number;
  character: number;
}

/** Text inserted after a shorthand property's name. */
interface Insertion {
  /** The name's start in the cell: positions inside the inserted value map here. */
  nameStart: CellPosition;
  /** The name's end in the cell, where the text goes. */
  at: number;
  /** The length of the inserted text (`: name`). */
  length: number;
}

/** A cell's text with its shorthand properties written out, and the way back. */
export class ShorthandExpansion {
  /**
   * @param code - the text to convert (the cell's own when nothing was written out).
   * @param insertions - what was inserted, in text order.
   */
  constructor(
    readonly code: string,
    private readonly insertions: readonly Insertion[],
  ) {}

  /** Whether any shorthand property was written out. */
  get changed(): boolean {
    return this.insertions.length > 0;
  }

  /**
   * The cell's position for a position in `code`. A start that falls in an
   * inserted value is the shorthand name's start (the value repeats the
   * name); an end that falls there is the name's end.
   */
  toCell(position: CellPosition, edge: 'start' | 'end'): CellPosition {
    let shift = 0;
    let lineShift = 0;
    for (const insertion of this.insertions) {
      const insertedAt = insertion.at + shift;
      const inside =
        edge === 'start'
          ? position.offset >= insertedAt && position.offset < insertedAt + insertion.length
          : position.offset > insertedAt && position.offset <= insertedAt + insertion.length;
      if (inside) {
        const nameLength = insertion.at - insertion.nameStart.offset;
        return edge === 'start'
          ? insertion.nameStart
          : {
              offset: insertion.at,
              line: insertion.nameStart.line,
              character: insertion.nameStart.character + nameLength,
            };
      }
      if (position.offset < insertedAt || (edge === 'end' && position.offset === insertedAt)) {
        break;
      }
      shift += insertion.length;
      if (insertion.nameStart.line === position.line) {
        lineShift += insertion.length;
      }
    }
    return {
      offset: position.offset - shift,
      line: position.line,
      character: position.character - lineShift,
    };
  }
}

/** Names of the values earlier cells declared, read from tslab's declarations of them. */
function declaredValueNames(previousDeclarations: string): Set<string> {
  const file = ts.createSourceFile('__prev__.d.ts', previousDeclarations, ts.ScriptTarget.Latest, false);
  const names = new Set<string>();
  const add = (name: ts.Node | undefined): void => {
    if (name && ts.isIdentifier(name)) {
      names.add(name.text);
    }
  };
  for (const statement of file.statements) {
    if (ts.isVariableStatement(statement)) {
      statement.declarationList.declarations.forEach((declaration) => add(declaration.name));
    } else if (
      ts.isFunctionDeclaration(statement) ||
      ts.isClassDeclaration(statement) ||
      ts.isEnumDeclaration(statement) ||
      ts.isModuleDeclaration(statement) ||
      ts.isImportEqualsDeclaration(statement)
    ) {
      add(statement.name);
    } else if (ts.isImportDeclaration(statement)) {
      const clause = statement.importClause;
      if (!clause || clause.isTypeOnly) {
        continue;
      }
      add(clause.name);
      const bindings = clause.namedBindings;
      if (bindings && ts.isNamespaceImport(bindings)) {
        add(bindings.name);
      } else if (bindings) {
        bindings.elements.filter((element) => !element.isTypeOnly).forEach((element) => add(element.name));
      }
    }
  }
  return names;
}

/**
 * `{ aa? }` and `{ aa! }` parse (the checker refuses them); written out they
 * would fail differently, so they stay as written. The parser keeps the
 * marks on fields TypeScript's public types leave out.
 */
function hasInvalidMark(property: ts.ShorthandPropertyAssignment): boolean {
  const marks = property as unknown as { questionToken?: ts.Node; exclamationToken?: ts.Node };
  return marks.questionToken !== undefined || marks.exclamationToken !== undefined;
}

/** Shorthand properties in a parsed cell, in text order. */
function shorthandProperties(sourceFile: ts.SourceFile): ts.ShorthandPropertyAssignment[] {
  const found: ts.ShorthandPropertyAssignment[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isShorthandPropertyAssignment(node)) {
      found.push(node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);
  return found;
}

/**
 * Writes out the shorthand properties of `code` whose name refers to a value
 * earlier cells declared (given as tslab's declarations of them): names the
 * cell declares itself, in any scope, keep their meaning, and destructuring
 * declarations (`const { aa } = o`) are not shorthand properties. A cell that
 * does not parse is left as it is, so its syntax errors read as written.
 */
export function expandEarlierCellShorthands(previousDeclarations: string, code: string): ShorthandExpansion {
  const unchanged = new ShorthandExpansion(code, []);
  // The file name tslab compiles cells as: a .ts file (not .tsx), so `<T>x` is a cast.
  const sourceFile = ts.createSourceFile(
    '__tslab__.ts',
    code,
    ts.ScriptTarget.Latest,
    true,
    ts.ScriptKind.TS,
  );
  const parseErrors = (sourceFile as unknown as { parseDiagnostics?: unknown[] }).parseDiagnostics ?? [];
  if (parseErrors.length > 0) {
    return unchanged;
  }
  const shorthands = shorthandProperties(sourceFile).filter((property) => !hasInvalidMark(property));
  if (shorthands.length === 0) {
    return unchanged;
  }
  // Read only now: most cells have no shorthand property, and the declarations grow with the notebook.
  const earlier = declaredValueNames(previousDeclarations);
  const candidates = shorthands.filter((property) => earlier.has(property.name.text));
  if (candidates.length === 0) {
    return unchanged;
  }
  // Alone in its program, a cell resolves only the names it declares itself.
  const checker = singleFileChecker(sourceFile);
  const toWrite = candidates.filter(
    (property) => checker.getShorthandAssignmentValueSymbol(property) === undefined,
  );
  if (toWrite.length === 0) {
    return unchanged;
  }
  const pieces: string[] = [];
  const insertions: Insertion[] = [];
  let copied = 0;
  for (const property of toWrite) {
    const name = property.name;
    const start = name.getStart(sourceFile);
    const { line, character } = sourceFile.getLineAndCharacterOfPosition(start);
    const value = `: ${name.text}`;
    pieces.push(code.slice(copied, name.end), value);
    copied = name.end;
    insertions.push({ nameStart: { offset: start, line, character }, at: name.end, length: value.length });
  }
  pieces.push(code.slice(copied));
  return new ShorthandExpansion(pieces.join(''), insertions);
}
