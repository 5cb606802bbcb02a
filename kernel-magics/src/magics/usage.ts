/**
 * How every magic parses its options: a commander program per parse (commander
 * keeps state), nothing printed or exited, and commander's errors turned into
 * a {@link MagicUsageError} that names the problem and what to do.
 */
import { Command, CommanderError } from 'commander';

/** Raised for a magic line that cannot be run; the message says what to do. */
export class MagicUsageError extends Error {
  override readonly name = 'MagicUsageError';
}

/** A commander program for a magic: `name` is how the user writes it (`%%serverless`, `%serverless config`). */
export function magicProgram(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
}

/** The long flags of a program's options, e.g. `--memory`. */
export function longOptions(program: Command): string[] {
  return program.options.flatMap((option) => (option.long ? [option.long] : []));
}

/** Turns a commander error into a message that names the problem and the valid options. */
function usageError(error: CommanderError, program: Command): MagicUsageError {
  const message = error.message.replace(/^error: /, '');
  const name = program.name();
  if (error.code === 'commander.unknownOption' || error.code === 'commander.excessArguments') {
    const flags = program.options.map((o) => o.flags).join(', ');
    return new MagicUsageError(`${name}: ${message}\nValid options: ${flags}. See ${name} --help.`);
  }
  return new MagicUsageError(`${name}: ${message}\nSee ${name} --help.`);
}

/**
 * Parses `args` with `program`: 'help' when they ask for the help text.
 * @throws MagicUsageError for arguments the program does not accept.
 */
export function parseMagicArgs(program: Command, args: readonly string[]): 'help' | 'parsed' {
  try {
    program.parse([...args], { from: 'user' });
    return 'parsed';
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'commander.helpDisplayed') {
      return 'help';
    }
    if (error instanceof CommanderError) {
      throw usageError(error, program);
    }
    throw error;
  }
}
