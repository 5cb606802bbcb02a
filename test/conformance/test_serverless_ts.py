"""Jupyter kernel conformance (jupyter_kernel_test) for the serverless-ts kernel.

Run with JUPYTER_PATH pointing at a share/jupyter dir holding the kernelspec
(test/run-all.mjs does this). Every test of jupyter_kernel_test has samples
except test_pager (TypeScript has no pager payloads).
"""
import unittest

import jupyter_kernel_test


class ServerlessTsKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "serverless-ts"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'

    completion_samples = [
        {"text": "Math.ab", "matches": {"abs"}},
        {"text": "const zebraCount = 1;\nzebraC", "matches": {"zebraCount"}},
    ]

    complete_code_samples = ["1 + 1", "const x = 1;", "function f() {\n  return 1;\n}"]
    incomplete_code_samples = ["function f() {", "const a = [1,", "if (true) {\n  1"]
    invalid_code_samples = ["1 +* 2", "const = 5;", "}"]

    code_generate_error = 'throw new Error("boom")'

    code_execute_result = [
        {"code": "1 + 2", "result": "3"},
        {"code": "'a' + 'b'", "result": "'ab'"},
        {"code": "[1, 2, 3].map((x) => x * 2)", "result": "[ 2, 4, 6 ]"},
        {"code": "({ a: 1 })", "result": "{ a: 1 }"},
    ]
    code_history_pattern = "1 +*"
    supported_history_operations = ("tail", "range", "search")

    code_display_data = [
        {"code": 'import { display } from "serverless-kernel";\ndisplay.html("<b>hi</b>")', "mime": "text/html"},
        {"code": 'import { display } from "serverless-kernel";\ndisplay.markdown("# hi")', "mime": "text/markdown"},
        {"code": 'import * as tslab from "tslab";\ntslab.display.svg("<svg></svg>")', "mime": "image/svg+xml"},
        {"code": 'import { display } from "serverless-kernel";\ndisplay.png(new Uint8Array([137, 80, 78, 71]))', "mime": "image/png"},
        {"code": 'import { display } from "serverless-kernel";\ndisplay.json({ a: [1, 2] })', "mime": "application/json"},
    ]

    code_inspect_sample = "Math.max"

    code_clear_output = 'import { display } from "serverless-kernel";\ndisplay.clear()'


if __name__ == "__main__":
    unittest.main()
