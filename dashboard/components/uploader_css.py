"""Static CSS that words the file uploader in Chinese. Constant strings only — no data.

Streamlit 1.67 has no option for the uploader's own texts (the "Upload" button and the
"20MB per file • XLSX, CSV" line), so their text is hidden and constant Chinese text is
drawn in its place with CSS `content`. The limits written here are the server's
(`.streamlit/config.toml` maxUploadSize = 20) and the page's allowed types.
"""

from __future__ import annotations

UPLOADER_CSS = """<style>
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p {
  font-size: 0 !important; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {
  content: "选择文件"; font-size: 14px; }
[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0 !important; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after {
  content: "或拖放到此处 · 单个文件不超过 20 MB · XLSX、CSV"; font-size: 14px; }
</style>"""
