import os

# Tests never autoload plugins: each one registers what it uses.
os.environ["KODE_DISABLE_PLUGIN_AUTOLOAD"] = "1"
