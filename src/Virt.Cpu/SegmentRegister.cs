namespace Virt.Cpu;

/// <summary>The segment registers, numbered as the x86 encoding numbers them.</summary>
public enum SegmentRegister
{
    /// <summary>ES.</summary>
    Es,

    /// <summary>CS.</summary>
    Cs,

    /// <summary>SS.</summary>
    Ss,

    /// <summary>DS.</summary>
    Ds,

    /// <summary>FS.</summary>
    Fs,

    /// <summary>GS.</summary>
    Gs,
}
