// Starts `planner lsp` for .plan files (see ../README.md).
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const config = vscode.workspace.getConfiguration("planner");
  const [command, ...args] = config.get("command", ["planner", "lsp"]);
  const options = { solve: config.get("solve", true) };
  const root = config.get("root", "");
  if (root) {
    options.root = root;
  }
  client = new LanguageClient(
    "planner",
    "planner",
    { command, args },
    {
      documentSelector: [
        { scheme: "file", language: "plan" },
        { scheme: "untitled", language: "plan" },
      ],
      initializationOptions: options,
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
