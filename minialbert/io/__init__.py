"""The I/O layer, below the model: errors and atomic writes (errors), tensor files (safetensors_file,
torch_bin, tf_bundle + tf_names), copying a state dict into a model (state_dict), and checkpoint
directories (checkpoint). Nothing here imports the model classes."""
from .errors import CheckpointError, WriteError, atomic_write
from .safetensors_file import read_safetensors, write_safetensors
from .torch_bin import read_torch_bin, read_torch_bin_info
from .tf_bundle import TFTensorInfo, find_tf_checkpoint, list_tf_checkpoint, read_tf_checkpoint
from .tf_names import detect_layout, google_to_hf, is_optimizer_variable, load_tf_state, tf_hf_shapes
from .state_dict import check_state_shapes, load_state_dict_into
from .checkpoint import HF_WEIGHT_FILES, detect_format, load_pretrained, read_checkpoint, save_pretrained
