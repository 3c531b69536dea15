namespace Virt.Devices;

/// <summary>What sits on an IDE position: a hard disk (ATA) or a CD/DVD-ROM drive (ATAPI).</summary>
public enum IdeMediaKind
{
    /// <summary>An ATA hard disk on 512-byte sectors.</summary>
    Disk,

    /// <summary>An ATAPI CD-ROM drive reading 2048-byte blocks; its medium can be changed or ejected.</summary>
    Cdrom,
}
