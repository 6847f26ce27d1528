document.documentElement.dataset.board = "ready";
