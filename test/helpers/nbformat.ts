/** The parts of an nbformat 4 notebook file the notebook tests read. */

/** An output of a code cell. */
export interface NotebookOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, string | string[]>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
  execution_count?: number;
}

/** A cell; `jsl_messages` is what test/notebooks/execute_timed.py records of its messages. */
export interface NotebookCell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  metadata: { tags?: string[]; jsl_messages?: [string, string | null, number][] };
  outputs?: NotebookOutput[];
}

/** nbformat stores multi-line text as a string or a list of lines: the text either way. */
export const joinText = (value: string | string[] | undefined): string =>
  Array.isArray(value) ? value.join('') : (value ?? '');
