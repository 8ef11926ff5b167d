"""sdvlm: SD-VLM training, evaluation and the end-to-end jobs on the Hugging Face stack.

Submodules (imported on demand, so `import sdvlm` stays light):
- `sdvlm.train` (`sdvlm-train`): TRL `SFTTrainer` + PEFT with the authors' LoRA recipe;
- `sdvlm.evaluation` (`sdvlm-evaluate`): batched greedy answers scored with `metrics/msmu_accuracy`;
- `sdvlm.quickstart` (`sdvlm-quickstart`) and `sdvlm.ablation` (`sdvlm-ablation`): the main jobs;
- `sdvlm.collator`, `sdvlm.depth_cache`, `sdvlm.depth_prompt`, `sdvlm.baselines`, `sdvlm.presets`;
- `sdvlm.space` (`sdvlm-space`): the Gradio Space.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
