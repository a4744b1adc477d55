"""The web demo (Gradio): ``unicorn demo``, or :func:`unicorn.demo.app.serve` from Python.

Importing this package is light; :mod:`unicorn.demo.app` needs the ``demo`` extra
(``pip install 'unicorn-track[demo]'``).
"""
