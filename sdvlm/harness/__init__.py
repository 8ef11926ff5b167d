"""SD-VLM and MSMU-Bench inside evaluation harnesses: lmms-eval's model adapter (`lmms_model.py`)
and task folder (`tasks/msmu_bench`, for `lmms-eval --include_path`)."""
