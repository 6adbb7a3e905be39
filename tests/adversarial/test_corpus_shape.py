"""The corpus itself: enough cases, unique names, every listed attack class covered."""
from adv_corpus import CASES


def test_corpus_is_complete():
    names = [c.name for c in CASES]
    assert len(names) >= 30 and len(set(names)) == len(names)
    assert all(c.probes and c.score >= 0 for c in CASES)
    for needed in ("eq_always_true", "patch_numpy", "patch_assert_close", "read_solutions", "find_hidden_tests",
                   "write_gradebook_and_results", "sys_exit", "os_exit", "kill_everything", "fork_bomb",
                   "memory_bomb", "endless_loop", "huge_output", "outbound_socket", "edit_points",
                   "delete_tests", "duplicate_test", "reorder_tests", "test_to_markdown", "malicious_pickle",
                   "thread_repatch", "detect_grading", "float32", "other_algorithm", "warnings",
                   # the trusted judge (autograder/SECURITY.md G6, G7, G14, G16)
                   "displayhook_text", "displayhook_number", "code_object_swap", "audit_hook_patch",
                   "run_cell_events", "transform_cell", "lookalike_tensor", "patch_library_oracle",
                   "encoded_exfiltration"):
        assert needed in names, needed
