// Starts the game's WebAssembly on the page (the names are the build's, hashed by scripts/web).
import init from "./GAME_JS";

const status = document.getElementById("status");
// The game draws on the canvas from its first frame; the loading line goes once it is running.
const gone = () => status.classList.add("gone");
init({ module_or_path: new URL("./GAME_WASM", import.meta.url) })
  .then(gone)
  .catch((error) => {
    // winit leaves the start-up function by throwing this on purpose: the game is running.
    if (String(error).includes("Using exceptions for control flow")) {
      gone();
      return;
    }
    status.textContent = "캐치마인드를 시작하지 못했습니다 · Catch Mind could not start: " + error
      + " (a browser with WebGL2 and WebAssembly is needed: a current Chrome, Edge, Firefox or Safari)";
    console.error(error);
  });
