/**
 * Static analysis of a `%%serverless` body with the TypeScript compiler API:
 * which identifiers it reads without declaring them (candidates for capture
 * from the kernel), which top-level `const`/`let`/`var` names it declares
 * (exported to the kernel afterwards), and whether it ends with an expression
 * (the cell's value). The binder and checker resolve scopes, so shadowing,
 * hoisting, destructuring and closures are handled as the language defines them.
 */
import * as ts from '@tslab/typescript-for-tslab';

import { singleFileChecker } from '../single-file-checker';

/** What the body reads, declares and ends with. */
export interface BodyAnalysis {
  /** The parsed body (kept so the compiler need not parse it again). */
  sourceFile: ts.SourceFile;
  /** Value identifiers the body reads and does not declare, in order of first use. */
  freeIdentifiers: string[];
  /** Names declared by top-level `const`, `let` and `var` statements. */
  declaredNames: string[];
  /** The final expression statement, when the body ends with one. */
  lastExpression?: ts.Expression;
  /** Syntax errors, formatted `line:col - message` (1-based, body lines). */
  syntaxErrors: string[];
}

const FILE_NAME = 'serverless-body.ts';

/** True for identifiers that name a property, label or type rather than read a value. */
function isNotAValueRead(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) {
    return true;
  }
  if (
    (ts.isQualifiedName(parent) && parent.right === node) ||
    (ts.isPropertyAssignment(parent) && parent.name === node)
  ) {
    return true;
  }
  if ((ts.isLabeledStatement(parent) || ts.isBreakOrContinueStatement(parent)) && parent.label === node) {
    return true;
  }
  if (
    (ts.isMethodDeclaration(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isGetAccessor(parent) ||
      ts.isSetAccessor(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isMethodSignature(parent) ||
      ts.isEnumMember(parent) ||
      ts.isImportSpecifier(parent) ||
      ts.isExportSpecifier(parent) ||
      ts.isJsxAttribute(parent) ||
      ts.isBindingElement(parent)) &&
    parent.name === node
  ) {
    return true;
  }
  if (ts.isBindingElement(parent) && parent.propertyName === node) {
    return true;
  }
  for (let current: ts.Node = node; current.parent; current = current.parent) {
    if (ts.isTypeNode(current) && !ts.isExpressionWithTypeArguments(current)) {
      return true;
    }
    if (ts.isStatement(current)) {
      break;
    }
  }
  return false;
}

/** Names bound by a declaration's name (identifiers and destructuring patterns). */
function boundNames(name: ts.BindingName, into: string[]): void {
  if (ts.isIdentifier(name)) {
    into.push(name.text);
    return;
  }
  for (const element of name.elements) {
    if (!ts.isOmittedExpression(element)) {
      boundNames(element.name, into);
    }
  }
}

function formatDiagnostic(sourceFile: ts.SourceFile, diagnostic: ts.DiagnosticWithLocation): string {
  const { line, character } = sourceFile.getLineAndCharacterOfPosition(diagnostic.start);
  return `${line + 1}:${character + 1} - ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
}

/** Analyses a cell body (TypeScript). */
export function analyzeBody(body: string): BodyAnalysis {
  const sourceFile = ts.createSourceFile(FILE_NAME, body, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const parseDiagnostics =
    (sourceFile as unknown as { parseDiagnostics?: ts.DiagnosticWithLocation[] }).parseDiagnostics ?? [];
  const syntaxErrors = parseDiagnostics.map((d) => formatDiagnostic(sourceFile, d));
  // No lib: every global reads as unresolved, hence free.
  const checker = singleFileChecker(sourceFile);
  const free = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isIdentifier(node) && !isNotAValueRead(node)) {
      const symbol = ts.isShorthandPropertyAssignment(node.parent)
        ? checker.getShorthandAssignmentValueSymbol(node.parent)
        : checker.getSymbolAtLocation(node);
      if (!symbol && node.text !== 'undefined') {
        free.add(node.text);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(sourceFile);

  const declaredNames: string[] = [];
  for (const statement of sourceFile.statements) {
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        boundNames(declaration.name, declaredNames);
      }
    }
  }
  const last = sourceFile.statements[sourceFile.statements.length - 1] as ts.Statement | undefined;
  const lastExpression = last && ts.isExpressionStatement(last) ? last.expression : undefined;
  return { sourceFile, freeIdentifiers: [...free], declaredNames, lastExpression, syntaxErrors };
}
