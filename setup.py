"""sdvlm: SD-VLM (depth-encoded LLaVA) and MSMU on the Hugging Face stack."""

from setuptools import find_packages, setup

# Exact pins: a fresh machine must resolve to the CPU torch wheel that lies on disk
# (a looser torch pin pulls a multi-GB CUDA build), and the library facts we rely on
# (LlavaModel.get_image_features, TRL's VLM path, datasets without scripts) are version-specific.
INSTALL_REQUIRES = [
    "torch==2.13.0",
    "transformers==5.23.0",
    "tokenizers==0.23.3",
    "safetensors==0.8.0",
    "datasets==5.2.0",
    "evaluate==0.4.6",
    "trl==1.16.0",
    "peft==0.21.2",
    "accelerate==1.15.0",
    "gradio==6.31.0",
    "numpy>=2.0,<3",
    "pillow>=10",
    "pyarrow>=15",
    "matplotlib==3.11.2",
    "tqdm>=4.66",
]

EXTRAS = {
    "dev": [
        "pytest>=8",
        "hypothesis>=6.100",
        "selenium>=4.20",
    ],
    # sdvlm-evaluate --benchmark: PyAV decodes VSI-Bench videos (lmms-eval 0.7 wants av<16),
    # pycocotools decodes SpatialRGPT-Bench's RLE region masks.
    "benchmarks": [
        "av>=14,<16",
        "pycocotools>=2.0.8",
    ],
    # lmms-eval's adapter and msmu_bench task (sdvlm/harness/). lmms-eval 0.7.3 itself is installed
    # with `pip install --no-deps lmms-eval==0.7.3` (the Makefile does): its own requirements pull
    # torchvision (which switches transformers' image processors to their torchvision backend, so
    # pixel values would change everywhere), opencv, wandb, openai, yt-dlp and ~60 more packages.
    # These are the ones it needs to import, run a generate_until task and print its table.
    "lmms": [
        "loguru>=0.7",
        "sacrebleu>=2.4",
        "tenacity>=8.3",
        "pytablewriter>=0.38",
        "av>=14,<16",
    ],
    # ZeRO-2/3 (configs/accelerate/deepspeed_zero*.yaml); an sdist that also runs on CPU (gloo).
    "deepspeed": ["deepspeed==0.19.8"],
}

setup(
    name="sdvlm",
    version="0.1.0",
    description="SD-VLM: depth-encoded vision-language models and the MSMU benchmark, Hugging Face-native",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["modeling_sdvlm*", "dataset_builders*", "metrics*", "sdvlm*"]),
    package_data={"metrics.msmu_accuracy": ["README.md", "requirements.txt"], "dataset_builders.msmu": ["*.json", "*.md"],
                  "sdvlm.harness": ["tasks/*/*.yaml", "tasks/*/*.py"]},
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS,
    entry_points={
        "console_scripts": [
            "sdvlm-train=sdvlm.train:main",
            "sdvlm-evaluate=sdvlm.evaluation:main",
            "sdvlm-quickstart=sdvlm.quickstart:main",
            "sdvlm-ablation=sdvlm.ablation:main",
            "sdvlm-space=sdvlm.space:main",
            "sdvlm-convert=modeling_sdvlm.convert_sdvlm_original_to_hf:main",
            "msmu-build=dataset_builders.msmu.__main__:main",
        ],
        # lmms-eval 0.7 finds external models through this group: `lmms-eval --model sdvlm`.
        "lmms_eval.models": ["sdvlm=sdvlm.harness.lmms_model:manifest"],
    },
)
