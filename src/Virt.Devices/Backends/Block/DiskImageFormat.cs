namespace Virt.Devices;

/// <summary>The format of a disk image file, for <see cref="DiskImage.Open"/>.</summary>
public enum DiskImageFormat
{
    /// <summary>
    /// Probe the file: qcow2 when it starts with the qcow2 magic, raw otherwise. Do not probe a raw image a guest can
    /// write: a guest that writes the qcow2 magic to its first sector would make the next probe read the image as a
    /// qcow2 whose backing file the guest chose. Name the format for such images.
    /// </summary>
    Auto,

    /// <summary>A raw image: the disk's bytes, one for one.</summary>
    Raw,

    /// <summary>A qcow2 image, version 2 or 3.</summary>
    Qcow2,
}
