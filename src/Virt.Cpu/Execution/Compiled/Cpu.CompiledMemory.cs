using System.Reflection;

namespace Virt.Cpu;

/// <summary>
/// What the compiled tier's inline memory accesses reach (BlockEmitter.Memory.cs): the software TLB the interpreter's fast
/// forms probe (Cpu.FastMemory.cs, Cpu.FastMemory64.cs) and the precomputed segment bounds and bases they check.
/// </summary>
public sealed partial class Cpu
{
    /// <summary>The members of <see cref="Cpu"/> and of the state the inline memory accesses reach (by reflection, once).</summary>
    internal static class CompiledMemoryMembers
    {
        /// <summary>The segment number of CS.</summary>
        public const int CodeSegment = Cs;

        /// <summary>The segment number of SS.</summary>
        public const int StackSegment = Ss;

        /// <summary>The segment number of FS: in 64-bit mode FS and GS (and only they) add their base (Intel SDM Vol. 3A, 3.4.4).</summary>
        public const int FirstBasedSegment64 = Fs;

        /// <summary>The register number of ESP/RSP.</summary>
        public const int StackRegister = RegSp;

        /// <summary>The software TLB's entries (a power of two).</summary>
        public const int TlbEntries = Mmu.TlbEntries;

        /// <summary>log2 of the page size.</summary>
        public const int PageShift = Mmu.PageShift;

        /// <summary>The offset bits of an address within its page.</summary>
        public const uint PageMask = Mmu.PageMask;

        /// <summary>The page size in bytes.</summary>
        public const uint PageSize = PhysicalPageSize;

        private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;

        /// <summary>Cpu._tlbReadTag.</summary>
        public static readonly FieldInfo ReadTag = Field(typeof(Cpu), nameof(_tlbReadTag));

        /// <summary>Cpu._tlbReadHost.</summary>
        public static readonly FieldInfo ReadHost = Field(typeof(Cpu), nameof(_tlbReadHost));

        /// <summary>Cpu._tlbWriteTag.</summary>
        public static readonly FieldInfo WriteTag = Field(typeof(Cpu), nameof(_tlbWriteTag));

        /// <summary>Cpu._tlbWriteHost.</summary>
        public static readonly FieldInfo WriteHost = Field(typeof(Cpu), nameof(_tlbWriteHost));

        /// <summary>CpuContext.SegBase.</summary>
        public static readonly FieldInfo SegBase = Field(typeof(CpuContext), nameof(CpuContext.SegBase));

        /// <summary>CpuContext.SegReadEnd.</summary>
        public static readonly FieldInfo SegReadEnd = Field(typeof(CpuContext), nameof(CpuContext.SegReadEnd));

        /// <summary>CpuContext.SegWriteEnd.</summary>
        public static readonly FieldInfo SegWriteEnd = Field(typeof(CpuContext), nameof(CpuContext.SegWriteEnd));

        /// <summary>CpuContext.SegLimit.</summary>
        public static readonly FieldInfo SegLimit = Field(typeof(CpuContext), nameof(CpuContext.SegLimit));

        /// <summary>CpuContext.Stack32.</summary>
        public static readonly FieldInfo Stack32 = Field(typeof(CpuContext), nameof(CpuContext.Stack32));

        private static FieldInfo Field(Type type, string name) =>
            type.GetField(name, Instance) ?? throw new InvalidOperationException($"The compiled tier needs the field {type.Name}.{name}.");
    }
}
