"""Names of the result formats and their files (no heavy imports: the CLI checks them before torch loads)."""

FORMATS = ("video", "mot", "mots", "davis", "json", "pytracking")
OUTPUT_NAMES = {"video": "annotated.mp4", "mot": "results_mot.txt", "mots": "results_mots.txt",
                "davis": "davis", "json": "results_coco.json", "pytracking": "results_pytracking.txt"}
