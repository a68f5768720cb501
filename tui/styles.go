package tui

import (
	"charm.land/bubbles/v2/help"
	"charm.land/lipgloss/v2"
)

// Styles holds every lipgloss style the screens use. Colours are the 16
// basic ANSI colours so that they look right on any palette; the program's
// renderer downsamples or strips them for the terminal's colour profile
// (NO_COLOR, TERM=dumb), so nothing here may carry meaning by colour
// alone: the selected row also has a "›" marker and reverse video, and
// unusable rows also say "no account".
type Styles struct {
	Banner lipgloss.Style // the admin's announcement above the menu

	Title     lipgloss.Style // "JMS" in the header line
	TitleInfo lipgloss.Style // who is logged in, how many assets

	SearchPrompt      lipgloss.Style // "Search:"
	SearchText        lipgloss.Style // what she typed
	SearchPlaceholder lipgloss.Style // the hint when nothing is typed
	SearchCaret       lipgloss.Style // the block cursor while searching
	Scope             lipgloss.Style // "in /prod" when a node is chosen
	Count             lipgloss.Style // "3/12"

	ColumnHeader lipgloss.Style // NAME ADDRESS …
	Row          lipgloss.Style
	Selected     lipgloss.Style // the row under the cursor
	Dimmed       lipgloss.Style // an asset without an account
	DimmedSel    lipgloss.Style // the same, under the cursor
	Empty        lipgloss.Style // "no asset matches"

	TreeCount lipgloss.Style // "(12)" after a node

	Flash lipgloss.Style // an error, in red
	Info  lipgloss.Style // a neutral status line ("refreshing…")

	Help help.Styles // the footer and the help screen

	HelpTitle   lipgloss.Style
	HelpSection lipgloss.Style
	HelpKey     lipgloss.Style
	HelpText    lipgloss.Style

	PickerTitle lipgloss.Style
	Privileged  lipgloss.Style

	Section lipgloss.Style // "Live sessions" in the auditor menu
	Live    lipgloss.Style // the live marker

	Progress      lipgloss.Style // the played part of the replay bar
	ProgressEmpty lipgloss.Style
	Status        lipgloss.Style // the replay status line
}

// DefaultStyles returns the styles of the menu, the auditor menu and the
// replay player.
func DefaultStyles() Styles {
	keyStyle := lipgloss.NewStyle().Foreground(lipgloss.Cyan).Bold(true)
	descStyle := lipgloss.NewStyle().Foreground(lipgloss.BrightBlack)
	return Styles{
		Banner: lipgloss.NewStyle().Foreground(lipgloss.Yellow),

		Title:     lipgloss.NewStyle().Foreground(lipgloss.Blue).Reverse(true).Bold(true).Padding(0, 1),
		TitleInfo: lipgloss.NewStyle().Foreground(lipgloss.Cyan),

		SearchPrompt:      lipgloss.NewStyle().Foreground(lipgloss.Magenta).Bold(true),
		SearchText:        lipgloss.NewStyle(),
		SearchPlaceholder: lipgloss.NewStyle().Foreground(lipgloss.BrightBlack).Faint(true),
		SearchCaret:       lipgloss.NewStyle().Reverse(true),
		Scope:             lipgloss.NewStyle().Foreground(lipgloss.Yellow),
		Count:             lipgloss.NewStyle().Foreground(lipgloss.BrightBlack),

		ColumnHeader: lipgloss.NewStyle().Bold(true).Underline(true),
		Row:          lipgloss.NewStyle(),
		Selected:     lipgloss.NewStyle().Foreground(lipgloss.Blue).Reverse(true).Bold(true),
		Dimmed:       lipgloss.NewStyle().Foreground(lipgloss.BrightBlack).Faint(true),
		DimmedSel:    lipgloss.NewStyle().Foreground(lipgloss.BrightBlack).Reverse(true),
		Empty:        lipgloss.NewStyle().Foreground(lipgloss.BrightBlack).Italic(true),

		TreeCount: lipgloss.NewStyle().Foreground(lipgloss.BrightBlack),

		Flash: lipgloss.NewStyle().Foreground(lipgloss.Red).Bold(true),
		Info:  lipgloss.NewStyle().Foreground(lipgloss.Green),

		Help: help.Styles{
			Ellipsis:       descStyle,
			ShortKey:       keyStyle,
			ShortDesc:      descStyle,
			ShortSeparator: descStyle,
			FullKey:        keyStyle,
			FullDesc:       descStyle,
			FullSeparator:  descStyle,
		},

		HelpTitle:   lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Blue).Reverse(true).Padding(0, 1),
		HelpSection: lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Magenta),
		HelpKey:     keyStyle,
		HelpText:    lipgloss.NewStyle(),

		PickerTitle: lipgloss.NewStyle().Bold(true),
		Privileged:  lipgloss.NewStyle().Foreground(lipgloss.Red),

		Section: lipgloss.NewStyle().Bold(true).Foreground(lipgloss.Magenta),
		Live:    lipgloss.NewStyle().Foreground(lipgloss.Green).Bold(true),

		Progress:      lipgloss.NewStyle().Foreground(lipgloss.Blue),
		ProgressEmpty: lipgloss.NewStyle().Foreground(lipgloss.BrightBlack),
		Status:        lipgloss.NewStyle().Reverse(true),
	}
}
