"""lumicare-ij in napari: restore a layer with a CARE model, measure the paper's readouts, open ImageJ TIFFs.

The plugin is declared in ``napari.yaml`` (npe2) and found through the
``napari.manifest`` entry point; install it with ``pip install "lumicare-ij[napari]"``.

* :mod:`.restore_widget` - *Restore with CARE*: the selected image layer
  through a trained model folder (``care.predict``) or an exported CSBDeep-Fiji
  ZIP (the plugin's numbers, in TensorFlow Java), in a worker thread.
* :mod:`.readouts_widget` - *Paper readouts*: mask MAE, nuclear Pearson or
  mitochondrial shapes between two layers, masks as label layers, numbers in a table.
* :mod:`.reader` - ImageJ TIFFs with their calibration as the layer scale (microns).
* :mod:`.sample` - a small simulated H2B pair (0.5 s and 60 s).

Nothing here is imported by the rest of the package: napari and Qt stay optional.
"""
