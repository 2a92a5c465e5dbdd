"""Review outputs read from a solve result: the HTML report and the diff views."""

from planner.report.html import render_html

__all__ = ["render_html"]
