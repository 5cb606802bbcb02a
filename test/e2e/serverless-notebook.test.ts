/**
 * `%%serverless` cells as a user runs them, on the embedded runtime (real
 * worker processes): test/notebooks/serverless-cells.ipynb executed by
 * nbclient; the assertions are the shared suite's (helpers/serverless-cells-suite.ts).
 */
import { describeServerlessCells } from '../helpers/serverless-cells-suite';

describeServerlessCells({ backend: 'local', streamsLive: true });
