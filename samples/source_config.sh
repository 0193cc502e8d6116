# Sourced by samples/pretrain_sources.sh and bench/pretrain_precision.sh: the job config of one source
# pretraining, with the settings of the shipped sources.
#   source_config DATA REFERENCE SEED ITERATIONS THREADS > config.json
# WGAN-GP (n_critic 5, γ 10) with the Adam settings of Gulrajani et al. for DCGAN-sized nets; scored every
# 500 iterations against 1000 held-out images of REFERENCE.
source_config() {
  cat <<JSON
{"kind": "pretrain", "data": "$1",
 "arch": {"family": "dcgan32", "preset": "small", "channels": 1},
 "iterations": $4, "batch_size": 64, "n_critic": 5, "lr": 0.0002, "betas": [0.5, 0.9], "seed": $3,
 "sample_every": 250, "checkpoint_every": 250, "keep_checkpoints": 4,
 "evaluation": {"reference": "$2", "real_samples": 1000, "fake_samples": 1000,
                "w1_samples": 1000, "diversity_samples": 100, "seed": 0},
 "evaluation_every": 500,
 "runtime": {"threads": $5, "device": "auto"}}
JSON
}
