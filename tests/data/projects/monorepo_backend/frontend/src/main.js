console.log("frontend");
