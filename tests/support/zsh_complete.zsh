#!/usr/bin/env zsh -f
# Prints the candidates zsh's completion system offers for a command line, one per line:
#   zsh -f zsh_complete.zsh FPATH_DIR BIN_DIR 'fleetadm de'
# An interactive zsh runs in a pseudo-terminal (zpty) with compinit, FPATH_DIR in $fpath and
# BIN_DIR first in $path (Debian's /etc/zsh/zshenv resets PATH, even with -f); Tab
# is bound to complete-word, and compadd is wrapped so that it prints what it is given (after
# its own matching) between two marker lines instead of touching the screen.
zmodload zsh/zpty || exit 2
dir=$1 bin=$2 line=$3
zpty shell zsh -f -i
zpty -w shell "PS1='' PROMPT='' RPROMPT=''; unsetopt zle_bracketed_paste 2>/dev/null"
zpty -w shell "path=(${(q)bin} \$path); fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w shell 'zstyle ":completion:*" list-grouped false; zstyle ":completion:*" insert-tab false'
zpty -w shell 'compprefuncs=( _capture_begin ); comppostfuncs=( _capture_end exit )'
zpty -w shell '_capture_begin() { print -r -- "<<<begin>>>" }; _capture_end() { print -r -- "<<<end>>>" }'
zpty -w shell 'compadd() {
  if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
  local -a __hits; builtin compadd -A __hits "$@"; local h
  for h in $__hits; do print -r -- "match:$h"; done
}'
zpty -w shell 'bindkey "^I" complete-word; print -r -- "<<<ready>>>"'
integer ready=0
while zpty -r shell out; do
  [[ $out == *'<<<ready>>>'* && $out != *print* ]] && { ready=1; break }
done
(( ready )) || { print -u2 "zsh did not start"; exit 2 }
zpty -w -n shell "$line"$'\t'
integer inside=0
while zpty -r shell out; do
  [[ $out == *'<<<begin>>>'* ]] && { inside=1; continue }
  [[ $out == *'<<<end>>>'* ]] && break
  (( inside )) && [[ $out == *match:* ]] && print -r -- "${${out#*match:}%%$'\r'*}"
done
zpty -d shell
