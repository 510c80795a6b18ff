#include "core/lineedit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <editline/readline.h>

#include "core/fdio.h"

/* Words for completion run over identifiers, dots and colons ("vm:pa"). */
static const char word_breaks[] = " \t\n\"\\'`@$><=;|&{}()[],+-*/%^~#!";

static struct {
	bool ready, started, active;
	mv_lineedit_line_fn on_line;
	mv_lineedit_complete_fn complete;
	void *opaque;
	char prompt[64];
	char **cands;      /* of the completion in progress */
	size_t next;
} le;

static void free_cands(void)
{
	for (size_t i = 0; le.cands && le.cands[i]; i++)
		free(le.cands[i]);
	free(le.cands);
	le.cands = NULL;
	le.next = 0;
}

static char *next_cand(const char *text, int state)
{
	(void)text;
	if (state == 0)
		le.next = 0;
	if (!le.cands || !le.cands[le.next])
		return NULL;
	return strdup(le.cands[le.next++]);
}

static char **attempt_completion(const char *text, int start, int end)
{
	char **matches = NULL;

	rl_attempted_completion_over = 1; /* never fall back to file names */
	if (!le.complete)
		return NULL;
	free_cands();
	le.cands = le.complete(le.opaque, text);
	if (le.cands && le.cands[0])
		matches = rl_completion_matches(text, next_cand);
	free_cands();
	return matches;
}

static void handle_line(char *line)
{
	le.active = false; /* libedit has put the terminal back */
	if (line && *line)
		add_history(line);
	le.on_line(le.opaque, line);
	free(line);
}

/* libedit's rl_initialize() turns editing off for good if the terminal does
 * not echo at that moment (someone else put it in raw mode, or stty -echo):
 * keys would then be read as plain lines with no echo or prompt redraw. */
bool lineedit__usable(void)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return false;
	return tcgetattr(STDIN_FILENO, &t) == 0 && (t.c_lflag & ECHO);
}

void lineedit__init(const char *app_name, mv_lineedit_line_fn on_line, mv_lineedit_complete_fn complete,
		    void *opaque)
{
	le.on_line = on_line;
	le.complete = complete;
	le.opaque = opaque;
	if (le.ready)
		return;
	rl_readline_name = app_name; /* ~/.editrc sections */
	rl_catch_signals = 0;        /* SIGINT belongs to the event loop */
	rl_basic_word_break_characters = word_breaks;
	rl_completion_append_character = '\0';
	rl_attempted_completion_function = attempt_completion;
	le.ready = true;
}

void lineedit__prompt(const char *prompt)
{
	snprintf(le.prompt, sizeof(le.prompt), "%s", prompt);
	if (le.active) {
		rl_set_prompt(le.prompt);
		rl_forced_update_display();
		return;
	}
	le.active = le.started = true;
	rl_callback_handler_install(le.prompt, handle_line); /* draws it */
}

bool lineedit__active(void)
{
	return le.active;
}

void lineedit__read_char(void)
{
	if (le.active)
		rl_callback_read_char();
}

/* Screen row (from the prompt's first) and column of input offset pos;
 * prompt and input are taken as one column per byte. */
static void screen_pos(int pos, int *row, int *col)
{
	int rows = 0, cols = 0, at = (int)strlen(le.prompt) + pos;

	rl_get_screen_size(&rows, &cols);
	*row = cols > 0 ? at / cols : 0;
	*col = cols > 0 ? at % cols : at;
}

/* Moves the cursor from the input's cursor to the end of the input. */
static void cursor_to_end(void)
{
	int row, col, end_row, end_col;
	char seq[48];

	screen_pos(rl_point, &row, &col);
	screen_pos(rl_end, &end_row, &end_col);
	if (end_row == row && end_col == col)
		return;
	snprintf(seq, sizeof(seq), "\r");
	if (end_row > row)
		snprintf(seq + strlen(seq), sizeof(seq) - strlen(seq), "\033[%dB", end_row - row);
	if (end_col > 0)
		snprintf(seq + strlen(seq), sizeof(seq) - strlen(seq), "\033[%dC", end_col);
	fdio__write_all(STDOUT_FILENO, seq, strlen(seq));
}

void lineedit__interrupt(void)
{
	if (!le.active)
		return;
	cursor_to_end(); /* ^C after the whole input, not over it */
	rl_callback_handler_remove(); /* the next prompt starts an empty line */
	le.active = false;
	fdio__write_all(STDOUT_FILENO, "^C\r\n", 4);
}

/* Moves to the first row of the prompt and clears to the end of screen. */
static void clear_prompt(void)
{
	int row, col;
	char seq[32];

	screen_pos(rl_point, &row, &col);
	if (row > 0)
		snprintf(seq, sizeof(seq), "\r\033[%dA\033[J", row);
	else
		snprintf(seq, sizeof(seq), "\r\033[J");
	fdio__write_all(STDOUT_FILENO, seq, strlen(seq));
}

void lineedit__print(int fd, const void *buf, size_t len)
{
	if (!le.active) {
		fdio__write_all(fd, buf, len);
		return;
	}
	clear_prompt();
	fdio__write_all(fd, buf, len);
	if (len && ((const char *)buf)[len - 1] != '\n')
		fdio__write_all(fd, "\r\n", 2);
	rl_forced_update_display();
}

void lineedit__resize(void)
{
	if (le.started)
		rl_resize_terminal();
}

void lineedit__end(void)
{
	if (!le.active)
		return;
	rl_callback_handler_remove();
	le.active = false;
	fdio__write_all(STDOUT_FILENO, "\r\n", 2);
}
