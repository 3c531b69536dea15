namespace Virt.Devices;

/// <summary>The drive types of CMOS byte 10h (high nibble drive A, low nibble drive B), as IBM AT BIOSes define them.</summary>
public enum CmosFloppyDriveType
{
    /// <summary>No drive.</summary>
    None = 0,

    /// <summary>5.25" 360 KB.</summary>
    Drive360K = 1,

    /// <summary>5.25" 1.2 MB.</summary>
    Drive1200K = 2,

    /// <summary>3.5" 720 KB.</summary>
    Drive720K = 3,

    /// <summary>3.5" 1.44 MB.</summary>
    Drive1440K = 4,

    /// <summary>3.5" 2.88 MB.</summary>
    Drive2880K = 5,
}
