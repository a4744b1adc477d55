"""The Unicorn web demo (Gradio): ``unicorn demo`` or ``python demo/app.py``."""
