"""Checks that man/ncffs.1 and `ncffs --help` describe the same options, and that the page renders.

Scope: parse the ncffs section of `ncffs --help` (the lines after "ncffs options:" up to the first
blank line) and its FUSE section, parse the OPTIONS section of man/ncffs.1 (its tagged paragraphs,
grouped by .SS subsection), and compare them both ways: every option --help prints is documented,
with the same synopsis and default, and every option the page documents exists. Then check that
groff and man render the page without a warning. Nothing here hard-codes the list of options.

Left out on purpose: the prose of the page (a person reviews that) and mounting anything.

Run as `/usr/bin/python3 -m pytest -q tests/doc` from the repository root; NCFFS_BIN names the
binary (default ./ncffs). Debian's /usr/bin/python3 and pytest, standard library only.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAN_PAGE = REPO / "man" / "ncffs.1"
NCFFS = Path(os.environ.get("NCFFS_BIN") or REPO / "ncffs")
COMMAND_TIMEOUT_S = 30

NCFFS_SECTION_HEADER = "ncffs options:"
FUSE_SECTION_HEADER = "FUSE options:"
REQUIRED_SECTIONS = ("NAME", "SYNOPSIS", "DESCRIPTION", "THE TREE", "OPTIONS", "CREDENTIALS",
                     "ENVIRONMENT", "CACHING", "EXAMPLES", "ALLOW_OTHER", "EXIT STATUS", "FILES",
                     "TROUBLESHOOTING", "SEE ALSO")

# Font macros: the first two join their arguments with spaces, the rest alternate fonts and join
# them with nothing.
SPACED_FONT_MACROS = {"B", "I", "SM", "SB"}
ALTERNATING_FONT_MACROS = {"BI", "BR", "IB", "IR", "RB", "RI"}
# Paragraph macros that end a tagged paragraph's body (unless inside .RS/.RE).
PARAGRAPH_BREAKS = {"TP", "PP", "P", "LP", "SS", "SH", "HP"}

NAMED_GLYPHS = {"aq": "'", "lq": '"', "rq": '"', "dq": '"', "oq": "'", "cq": "'", "em": "--",
                "en": "-", "ga": "`", "ba": "|", "bu": "*", "ti": "~", "ha": "^", "rs": "\\"}


# ---------------------------------------------------------------------------------------------
# roff, just enough of it.

def roff_args(text):
    """Splits a macro's argument text as roff does: blanks separate, "..." quotes, "" is a "."""
    args, i, n = [], 0, len(text)
    while i < n:
        while i < n and text[i] == " ":
            i += 1
        if i >= n:
            break
        if text[i] == '"':
            i += 1
            buf = []
            while i < n:
                if text[i] == '"':
                    if i + 1 < n and text[i + 1] == '"':
                        buf.append('"')
                        i += 2
                        continue
                    i += 1
                    break
                buf.append(text[i])
                i += 1
            args.append("".join(buf))
        else:
            j = i
            while j < n and text[j] != " ":
                j += 1
            args.append(text[i:j])
            i = j
    return args


def unescape(text):
    """roff escapes to plain text."""
    def glyph(match):
        name = match.group(1) or match.group(2)
        return NAMED_GLYPHS.get(name, "")

    text = text.replace("\\\\", "\0")                       # a literal backslash, kept aside
    text = re.sub(r"\\f(?:\[[^\]]*\]|\([A-Za-z0-9]{2}|[A-Za-z0-9])", "", text)
    text = re.sub(r"\\\((..)|\\\[([^\]]*)\]", glyph, text)
    text = text.replace("\\-", "-").replace("\\e", "\\").replace("\\ ", " ").replace("\\~", " ")
    text = re.sub(r"\\[%&c|^:]", "", text)
    return text.replace("\0", "\\")


def plain_line(line):
    """One source line as the text it prints ("" for a macro that prints nothing here)."""
    if not line.startswith((".", "'")):
        return unescape(line)
    name, _, rest = line[1:].strip().partition(" ")
    if name in SPACED_FONT_MACROS:
        return unescape(" ".join(roff_args(rest)))
    if name in ALTERNATING_FONT_MACROS:
        return unescape("".join(roff_args(rest)))
    return ""


def read_page_lines():
    """The page's source lines, comments dropped."""
    assert MAN_PAGE.is_file(), f"{MAN_PAGE} is missing"
    return [line for line in MAN_PAGE.read_text(encoding="utf-8").splitlines()
            if not line.startswith(('.\\"', "'\\\"", '.\\#'))]


def macro_name(line):
    return line[1:].strip().split(" ", 1)[0] if line.startswith((".", "'")) else None


def split_sections(lines):
    """{section title: [source lines]} for every .SH."""
    sections, current = {}, None
    for line in lines:
        if macro_name(line) == "SH":
            current = " ".join(roff_args(line[3:].strip()))
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return sections


def tagged_paragraphs(lines):
    """[(subsection title, tag text, body text)] for every .TP in lines, in order."""
    entries, subsection, i = [], "", 0
    while i < len(lines):
        name = macro_name(lines[i])
        if name == "SS":
            subsection = unescape(" ".join(roff_args(lines[i][3:].strip())))
        if name != "TP":
            i += 1
            continue
        tag = plain_line(lines[i + 1]) if i + 1 < len(lines) else ""
        body, depth, i = [], 0, i + 2
        while i < len(lines):
            name = macro_name(lines[i])
            if name == "RS":
                depth += 1
            elif name == "RE":
                depth = max(0, depth - 1)
            elif name in PARAGRAPH_BREAKS and depth == 0:
                break
            body.append(plain_line(lines[i]))
            i += 1
        entries.append((subsection, tag, " ".join(t for t in body if t)))
    return entries


# ---------------------------------------------------------------------------------------------
# Options.

def option_key(text):
    """'-o name=VALUE' -> '-o name'; '--long', '-x' as they are; None for anything else."""
    text = text.strip()
    match = re.fullmatch(r"-o\s*([A-Za-z_][A-Za-z0-9_]*)(?:=.*)?", text)
    if match:
        return f"-o {match.group(1)}"
    if re.fullmatch(r"--[A-Za-z][A-Za-z0-9-]*|-[A-Za-z]", text):
        return text
    return None


def help_line_options(line):
    """The option synopses at the start of one --help line ('-h, --help', '-o api=v2|v2.1')."""
    fields = re.split(r"\s{2,}", line.strip())
    found = []
    for field in fields:
        if not field.startswith("-"):
            break
        found.extend(piece.strip() for piece in field.split(", "))
    return found


def tag_options(tag):
    """The option synopses of one man page tag ('-d, -o debug' -> ['-d', '-o debug'])."""
    return [piece.strip() for piece in tag.split(", ") if piece.strip().startswith("-")]


@pytest.fixture(scope="module")
def help_text():
    if not NCFFS.is_file() or not os.access(NCFFS, os.X_OK):
        pytest.fail(f"no ncffs binary at {NCFFS}: run `make` or set NCFFS_BIN")
    result = subprocess.run([str(NCFFS), "--help"], capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT_S, env=dict(os.environ, LC_ALL="C"))
    assert result.returncode == 0, f"ncffs --help exited {result.returncode}: {result.stderr}"
    return result.stdout


def help_section(help_text, header, stop_at_blank):
    lines = help_text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == header]
    assert starts, f"ncffs --help has no {header!r} line:\n{help_text}"
    section = []
    for line in lines[starts[0] + 1:]:
        if stop_at_blank and not line.strip():
            break
        section.append(line)
    return section


@pytest.fixture(scope="module")
def help_ncffs(help_text):
    """{key: (synopsis, default text or None)} from the ncffs section of --help."""
    options = {}
    for line in help_section(help_text, NCFFS_SECTION_HEADER, stop_at_blank=True):
        default = re.search(r"\(default ([^)]*)\)", line)
        for synopsis in help_line_options(line):
            key = option_key(synopsis)
            assert key, f"cannot read option {synopsis!r} in --help line {line!r}"
            options[key] = (synopsis, default.group(1) if default else None)
    assert "--help" in options and any(k.startswith("-o ") for k in options), \
        f"parsed nothing sensible from the ncffs section of --help: {options}"
    return options


@pytest.fixture(scope="module")
def help_fuse(help_text):
    """Keys of the options in the FUSE section of --help."""
    keys = set()
    for line in help_section(help_text, FUSE_SECTION_HEADER, stop_at_blank=False):
        for synopsis in help_line_options(line):
            key = option_key(synopsis)
            if key:
                keys.add(key)
    assert "-f" in keys, f"parsed no FUSE options from --help: {keys}"
    return keys


@pytest.fixture(scope="module")
def page_sections():
    return split_sections(read_page_lines())


@pytest.fixture(scope="module")
def man_options(page_sections):
    """[(group, synopsis, key, body)] for every option tag of OPTIONS; group is 'fuse' for a
    subsection whose title names FUSE, else 'ncffs'."""
    assert "OPTIONS" in page_sections, "the man page has no OPTIONS section"
    options = []
    for subsection, tag, body in tagged_paragraphs(page_sections["OPTIONS"]):
        group = "fuse" if "FUSE" in subsection.upper() else "ncffs"
        synopses = tag_options(tag)
        assert synopses, f"OPTIONS has a tag that names no option: {tag!r}"
        for synopsis in synopses:
            key = option_key(synopsis)
            assert key, f"cannot read option {synopsis!r} in man page tag {tag!r}"
            options.append((group, synopsis, key, body))
    return options


def keys_of(man_options, group=None):
    return {key for g, _, key, _ in man_options if group is None or g == group}


# ---------------------------------------------------------------------------------------------
# Help and page agree.

def test_every_ncffs_option_in_help_is_documented(help_ncffs, man_options):
    missing = sorted(set(help_ncffs) - keys_of(man_options, "ncffs"))
    assert not missing, f"in `ncffs --help` but not in the man page's ncffs options: {missing}"


def test_every_documented_ncffs_option_is_in_help(help_ncffs, man_options):
    unknown = sorted(keys_of(man_options, "ncffs") - set(help_ncffs))
    assert not unknown, f"documented as ncffs options but not in `ncffs --help`: {unknown}"


def test_option_synopses_match_help(help_ncffs, man_options):
    """'-o region=kr|sg|jp' in --help is written the same way in the page."""
    page = {key: synopsis for group, synopsis, key, _ in man_options if group == "ncffs"}
    differ = {key: (synopsis, page.get(key)) for key, (synopsis, _) in help_ncffs.items()
              if key in page and re.sub(r"\s+", " ", page[key]) != re.sub(r"\s+", " ", synopsis)}
    assert not differ, f"synopsis in --help vs. man page: {differ}"


def test_defaults_match_help(help_ncffs, man_options):
    """Each '(default X)' of --help is stated in the option's paragraph of the page."""
    bodies = {key: body for group, _, key, body in man_options if group == "ncffs"}
    wrong = {}
    checked = 0
    for key, (_, default) in help_ncffs.items():
        if default is None or key not in bodies:
            continue
        checked += 1
        body = bodies[key]
        values = [v for v in re.findall(r"[\w./:|=-]+", default)
                  if v not in ("for", "and", "or")]
        absent = [v for v in values if not re.search(r"(?<![\w.])" + re.escape(v) + r"(?![\w])",
                                                     body)]
        if "Default" not in body or absent:
            wrong[key] = f"--help says default {default!r}; page paragraph lacks " \
                         f"{absent or ['the word Default']}: {body[:200]!r}"
    assert checked, "no '(default ...)' found in the ncffs section of --help"
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in wrong.items())


def test_every_fuse_option_in_help_is_documented(help_fuse, man_options):
    missing = sorted(help_fuse - keys_of(man_options))
    assert not missing, f"FUSE options in `ncffs --help` not in the man page's OPTIONS: {missing}"


def libfuse_path():
    """The libfuse shared object the binary is linked against, or None."""
    if not shutil.which("ldd"):
        return None
    result = subprocess.run(["ldd", str(NCFFS)], capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT_S)
    match = re.search(r"libfuse3?\.so\S*\s+=>\s+(\S+)", result.stdout)
    return Path(match.group(1)) if match and Path(match.group(1)).is_file() else None


def test_documented_fuse_options_exist(help_text, help_ncffs, help_fuse, man_options):
    """A FUSE option the page documents is either in --help's FUSE section or an option name
    compiled into the libfuse that ncffs links (like allow_other, which --help does not list)."""
    extra = sorted(keys_of(man_options, "fuse") - help_fuse)
    filed_wrong = sorted(keys_of(man_options, "fuse") & set(help_ncffs))
    assert not filed_wrong, f"ncffs's own options documented under FUSE options: {filed_wrong}"
    if not extra:
        return
    library = libfuse_path()
    if library is None:
        pytest.skip(f"cannot locate the libfuse of {NCFFS} to check {extra}")
    data = library.read_bytes()
    unknown = []
    for key in extra:
        name = key.split(" ", 1)[1].encode() if key.startswith("-o ") else key.encode()
        # libfuse's option tables hold "name", "name=%u" or "-oname"; the linker may merge a
        # string into the tail of a longer one, so "-o" or "--" can come before it.
        if not re.search(rb"(?:\0|-o|--)" + re.escape(name) + rb"(?:\0|=)", data):
            unknown.append(key)
    assert not unknown, f"documented FUSE options that {library} does not know: {unknown}"


# ---------------------------------------------------------------------------------------------
# The rest of the page's contract with the code.

def test_required_sections_present(page_sections):
    missing = [s for s in REQUIRED_SECTIONS if s not in page_sections]
    assert not missing, f"man page lacks sections {missing}; has {list(page_sections)}"


def page_text(lines):
    return "\n".join(plain_line(line) for line in lines)


def test_tree_names_every_activation_file(page_sections):
    """fs/render.c's table of activation files, each described in THE TREE."""
    source = REPO / "fs" / "render.c"
    if not source.is_file():
        pytest.skip(f"{source} not found")
    names = re.findall(r'\[ACT_FILE_[A-Z_]+\]\s*=\s*\{\s*"([^"]+)"', source.read_text())
    assert len(names) >= 7, f"found too few activation file names in {source}: {names}"
    tree = page_text(page_sections["THE TREE"])
    missing = [n for n in names if f"/{n}" not in tree]
    assert not missing, f"THE TREE does not describe {missing}"


def test_tree_shows_every_fixed_entry_of_the_node_table(page_sections):
    """Every fixed name in fs/nodes.c's table of node kinds is in THE TREE's drawing."""
    source = REPO / "fs" / "nodes.c"
    if not source.is_file():
        pytest.skip(f"{source} not found")
    names = re.findall(r'\.name\s*=\s*"([^"]+)"', source.read_text())
    assert {"packages", "activations.tsv", "recent", "days", "latest"} <= set(names), names
    drawing = page_text(page_sections["THE TREE"])
    missing = [n for n in names if n.replace("-", "\\-") not in drawing and n not in drawing]
    assert not missing, f"THE TREE does not show {missing}"


def test_environment_lists_every_variable_read(page_sections):
    """Every NCLOUD_* variable the sources name, and anything passed to getenv(), is in
    ENVIRONMENT."""
    names = set()
    for source in list((REPO / "client").glob("*.c")) + list((REPO / "fs").glob("*.c")):
        text = source.read_text()
        names.update(re.findall(r'getenv\("([A-Za-z_][A-Za-z0-9_]*)"\)', text))
        names.update(re.findall(r'"(NCLOUD_[A-Z0-9_]+)"', text))
    if not names:
        pytest.skip("no sources naming environment variables found")
    documented = {name.strip()
                  for _, tag, _ in tagged_paragraphs(page_sections["ENVIRONMENT"])
                  for name in tag.split(",")}
    missing = sorted(names - documented)
    assert not missing, f"read by the code but not in ENVIRONMENT: {missing}"


# ---------------------------------------------------------------------------------------------
# Rendering.

def run_groff(*extra):
    return subprocess.run(["groff", "-ww", "-z", "-man", *extra, str(MAN_PAGE)],
                          capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)


@pytest.mark.skipif(shutil.which("groff") is None,
                    reason="groff is not installed (apt-get install groff-base)")
def test_groff_reports_no_warnings():
    result = run_groff()
    assert result.returncode == 0 and not result.stdout and not result.stderr, \
        f"groff -ww -z -man exited {result.returncode}:\n{result.stdout}{result.stderr}"


@pytest.mark.skipif(shutil.which("groff") is None,
                    reason="groff is not installed (apt-get install groff-base)")
def test_groff_terminal_rendering_reports_no_warnings():
    """The terminal device breaks lines differently from the default one."""
    result = run_groff("-Tutf8")
    assert result.returncode == 0 and not result.stdout and not result.stderr, \
        f"groff -ww -z -man -Tutf8 exited {result.returncode}:\n{result.stdout}{result.stderr}"


@pytest.mark.skipif(shutil.which("man") is None,
                    reason="man is not installed (apt-get install man-db)")
def test_man_renders_page():
    env = dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="80", LC_ALL="C.UTF-8")
    result = subprocess.run(["man", "-l", str(MAN_PAGE)], capture_output=True, text=True,
                            timeout=COMMAND_TIMEOUT_S, env=env)
    assert result.returncode == 0, f"man -l exited {result.returncode}: {result.stderr}"
    assert not result.stderr, f"man -l complained: {result.stderr}"
    text = re.sub(r".\x08", "", result.stdout)
    assert text.startswith("NCFFS(1)") or "NCFFS(1)" in text.splitlines()[0], text[:200]
    for section in REQUIRED_SECTIONS:
        assert re.search(rf"^{re.escape(section)}$", text, re.M), \
            f"rendered page has no {section} heading"
