// `brain tokenize`: encode stdin lines (JSON strings) to id arrays, or decode.
#include "launch/commands/commands.h"

namespace brain::cli {

Subcommand TokenizeCommand() {
  return Planned("tokenize", "encode stdin lines (JSON strings) to id arrays, or decode",
                 "Each stdin line is a JSON string; each output line a JSON array of token ids.",
                 "brain tokenize --tokenizer DIR [--decode] < lines.jsonl",
                 {{"tokenizer", "DIR", "directory with tokenizer.json or vocab.json+merges.txt", false, true},
                  {"decode", "", "read id arrays and print strings"}},
                 "#3");
}

}  // namespace brain::cli
