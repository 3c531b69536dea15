namespace Virt.Run.CommandLine;

/// <summary>The image format of a drive's file (QEMU's <c>format=</c>).</summary>
public enum DriveFormat
{
    /// <summary>A plain image: the file's bytes are the disk's bytes.</summary>
    Raw,

    /// <summary>QEMU's copy-on-write format, versions 2 and 3, with or without a backing file.</summary>
    Qcow2,
}
