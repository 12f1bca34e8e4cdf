"""Applications of a trained model: faces in photos (`predict`), videos and cameras (`video`), Grad-CAM
(`cam`). They import only the library."""
