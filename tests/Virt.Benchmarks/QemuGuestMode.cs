namespace Virt.Benchmarks;

/// <summary>The processor mode a <see cref="QemuGuestImage"/> sets up before it jumps to its loop.</summary>
public enum QemuGuestMode
{
    /// <summary>Real mode, CS = DS = ES = SS = 0, as <see cref="GuestPrograms.CreateMachine"/>.</summary>
    Real,

    /// <summary>32-bit protected mode with flat 4 GiB segments, paging off.</summary>
    ProtectedFlat,

    /// <summary>32-bit protected mode with flat segments and 4 KiB pages identity-mapping the first MiB.</summary>
    ProtectedPaged,

    /// <summary>64-bit mode, 4-level paging identity-mapping the first MiB with 4 KiB pages.</summary>
    Long,
}
