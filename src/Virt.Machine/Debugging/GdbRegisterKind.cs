namespace Virt.Machine.Debugging;

/// <summary>Where the value of a <see cref="GdbRegister"/> lives in the CPU.</summary>
internal enum GdbRegisterKind
{
    /// <summary>A general register, by encoding.</summary>
    General,

    /// <summary>EIP or RIP.</summary>
    InstructionPointer,

    /// <summary>EFLAGS.</summary>
    Flags,

    /// <summary>A segment selector (ES, CS, SS, DS, FS, GS by the index of gdb's order cs, ss, ds, es, fs, gs).</summary>
    Segment,

    /// <summary>The base of FS (index 4) or GS (index 5).</summary>
    SegmentBase,

    /// <summary>The IA32_KERNEL_GS_BASE MSR (SWAPGS's other GS base).</summary>
    KernelGsBase,

    /// <summary>A control register, by number.</summary>
    Control,

    /// <summary>The IA32_EFER MSR.</summary>
    Efer,

    /// <summary>An x87 data register ST(i), stack-relative as FXSAVE stores it.</summary>
    X87Data,

    /// <summary>fctrl, fstat, ftag, fiseg, fioff, foseg, fooff, fop by index.</summary>
    X87Control,

    /// <summary>An XMM register.</summary>
    Xmm,

    /// <summary>MXCSR.</summary>
    Mxcsr,
}
