"""Playwright steps on the demo page, as a visitor does them (upload, click corners, run, download)."""

from __future__ import annotations

from pathlib import Path

STATUS = "#status [data-testid='markdown']"
RUN_TIMEOUT_MS = 120_000


def open_page(browser, url: str, width: int = 1366, height: int = 768):
    """A new browser context (its own cookies and Gradio session) with the page loaded; returns (context, page)."""
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#run", timeout=30_000)
    return context, page


def status(page) -> str:
    return page.locator(STATUS).inner_text()


def wait_status(page, *needles: str, before: str | None = None, timeout: int = 30_000) -> str:
    """Wait until the status line differs from ``before`` and holds one of ``needles``; returns it."""
    page.wait_for_function(
        """([sel, needles, before]) => {
            const text = document.querySelector(sel)?.innerText ?? '';
            return text !== before && needles.some(n => text.includes(n));
        }""",
        arg=[STATUS, list(needles), before], timeout=timeout)
    return status(page)


def upload(page, path: Path) -> str:
    """Upload a file as the video; returns the status line it led to."""
    before = status(page)
    page.locator("#video-upload input[type=file]").set_input_files(str(path))
    return wait_status(page, "Loaded", "Error:", before=before)


def use_sample(page) -> str:
    before = status(page)
    page.click("#use-sample")
    return wait_status(page, "Loaded", before=before)


def click_frame(page, x: float, y: float, frame_width: int) -> None:
    """Click the first-frame image at frame pixel (x, y), whatever its size on the page."""
    page.wait_for_function("() => { const i = document.querySelector('#first-frame img');"
                           " return i && i.complete && i.naturalWidth > 0; }")
    img = page.locator("#first-frame img")
    nat_w, nat_h = img.evaluate("i => [i.naturalWidth, i.naturalHeight]")
    bb = img.bounding_box()
    scale = min(bb["width"] / nat_w, bb["height"] / nat_h)  # object-fit: contain, centred
    left = bb["x"] + (bb["width"] - nat_w * scale) / 2
    top = bb["y"] + (bb["height"] - nat_h * scale) / 2
    k = nat_w / frame_width  # the server sends the frame enlarged or reduced
    page.mouse.click(left + x * k * scale, top + y * k * scale)


def draw_box(page, box_xywh: tuple[float, float, float, float], frame_width: int) -> str:
    """Click the two corners of a box; returns the boxes text box's content."""
    x, y, w, h = box_xywh
    for (px, py), needle in (((x, y), "opposite corner"), ((x + w, y + h), "Box ")):
        before = status(page)
        click_frame(page, px, py, frame_width)
        wait_status(page, needle, before=before)
    return page.locator("#boxes textarea").input_value()


TASK_HELP = {"SOT": "Single-object tracking:", "VOS": "Video object segmentation:", "MOT": "Multi-object tracking:",
             "MOTS": "Multi-object tracking and segmentation:"}


def choose_task(page, label: str) -> None:
    """Pick a task and wait until the page has switched to it (its controls reset, its help shown)."""
    page.locator("#task").get_by_label(label, exact=True).check()
    page.wait_for_function("t => document.querySelector('#task-help').innerText.includes(t)", arg=TASK_HELP[label])


def set_slider(page, elem_id: str, value: float) -> None:
    """Type a value into a slider's number box until the slider holds it.

    A slider inside an accordion that was just opened may still be replaced by its first
    render, which drops what was typed a moment before (seen about once in four tries).
    """
    number = page.locator(f"#{elem_id} input[type=number]")
    slider = page.locator(f"#{elem_id} input[type=range]")
    for _ in range(5):
        number.fill(f"{value:g}")
        number.press("Enter")
        page.wait_for_timeout(250)
        if float(slider.input_value()) == value:
            return
    raise AssertionError(f"slider #{elem_id} does not take {value}: it shows {slider.input_value()}")


def run(page, timeout: int = RUN_TIMEOUT_MS) -> str:
    """Press Run and wait for the outcome; returns the status line."""
    before = status(page)
    page.click("#run")
    return wait_status(page, "Done:", "Error:", before=before, timeout=timeout)


def download_zip(page, dest: Path) -> Path:
    """Download the results zip offered on the page into ``dest``."""
    with page.expect_download() as info:
        page.locator("#result-zip a").first.click()
    info.value.save_as(dest)
    return dest


def screenshot(page, folder: Path, name: str, full_page: bool = False) -> Path:
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    print(f"screenshot: {path}")
    return path


def slider_value(page, elem_id: str) -> float:
    """The number a slider shows."""
    return float(page.locator(f"#{elem_id} input[type=number]").input_value())


def radio_value(page, elem_id: str) -> str:
    """The value of the checked option of a radio group."""
    return page.locator(f"#{elem_id} input[type=radio]:checked").input_value()


def correct(page, frame: int, box_text: str, target: int = 1, timeout: int = RUN_TIMEOUT_MS) -> str:
    """Open the correction panel, show ``frame``, type the target's true box, re-run; returns the status line."""
    panel = page.locator("#correct")
    if not page.locator("#fix-show").is_visible():
        panel.get_by_text("Correct a frame and re-run").click()
        page.locator("#fix-show").wait_for(state="visible")
    show_frame(page, frame, target)
    page.wait_for_function("() => { const i = document.querySelector('#fix-image img');"
                           " return i && i.complete && i.naturalWidth > 0; }")
    text = page.locator("#fix-box textarea, #fix-box input[type=text]").first
    text.fill(box_text)
    before = status(page)
    text.press("Tab")  # the box is taken when the text box loses focus
    wait_status(page, f"True box at frame {frame}", "Error:", before=before)
    before = status(page)
    page.click("#fix-run")
    return wait_status(page, "Done:", "Error:", before=before, timeout=timeout)


def show_frame(page, frame: int, target: int = 1) -> str:
    """Type the frame and target numbers and press "Show this frame"; returns the status line it led to.

    A number typed just before the click can reach the server after it (the click then shows the old
    frame), so the click is repeated until the status names the typed frame or an error.
    """
    for _ in range(4):
        for elem_id, value in (("fix-frame", frame), ("fix-target", target)):
            number = page.locator(f"#{elem_id} input[type=number]")
            number.fill(str(value))
            number.press("Tab")
        page.wait_for_timeout(300)
        page.click("#fix-show")
        try:
            page.wait_for_function(
                "([sel, f]) => { const t = document.querySelector(sel)?.innerText ?? '';"
                " return t.includes(`Frame ${f}: click`) || t.includes('Error:'); }",
                arg=[STATUS, frame], timeout=10_000)
            return status(page)
        except Exception:  # noqa: BLE001 - the old number was shown; type it again
            continue
    raise AssertionError(f"the page does not show frame {frame}: status {status(page)!r}")
