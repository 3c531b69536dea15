using System.Reflection;

namespace Virt.Cpu;

/// <summary>What the compiled tier's inline REP MOVS/STOS (BlockEmitter.String.cs) reads and updates besides the registers.</summary>
public sealed partial class Cpu
{
    /// <summary>The members of <see cref="Cpu"/> the inline REP MOVS/STOS reach (by reflection, once).</summary>
    internal static class CompiledStringMembers
    {
        /// <summary>The register number of (E/R)CX, the count.</summary>
        public const int CountRegister = RegCx;

        /// <summary>The register number of (E/R)SI, the source offset.</summary>
        public const int SourceRegister = RegSi;

        /// <summary>The register number of (E/R)DI, the destination offset.</summary>
        public const int DestinationRegister = RegDi;

        /// <summary>The register number of AL/AX/EAX/RAX, the value STOS stores.</summary>
        public const int ValueRegister = RegAx;

        /// <summary>The segment number of ES, the destination's segment (no override applies, Intel SDM Vol. 2B, MOVS).</summary>
        public const int DestinationSegment = Es;

        private const BindingFlags Instance = BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public;

        /// <summary>Cpu._budgetLeft: the iterations a REP instruction may run in this dispatch (Cpu.ExecuteString).</summary>
        public static readonly FieldInfo BudgetLeft = Field(nameof(_budgetLeft));

        /// <summary>Cpu._extraRetired: the REP iterations beyond the first, counted as retired instructions.</summary>
        public static readonly FieldInfo ExtraRetired = Field(nameof(_extraRetired));

        /// <summary>Cpu._dataBreakpointsArmed.</summary>
        public static readonly FieldInfo DataBreakpointsArmed = Field(nameof(_dataBreakpointsArmed));

        /// <summary>Cpu._ioBreakpointsArmed.</summary>
        public static readonly FieldInfo IoBreakpointsArmed = Field(nameof(_ioBreakpointsArmed));

        /// <summary>Cpu._hostWatchesArmed.</summary>
        public static readonly FieldInfo HostWatchesArmed = Field(nameof(_hostWatchesArmed));

        /// <summary>Buffer.MemoryCopy(void*, void*, long, long): memmove semantics, as Cpu.StringSpan copies.</summary>
        public static readonly MethodInfo MemoryCopy = typeof(Buffer).GetMethod(
            nameof(Buffer.MemoryCopy), [typeof(void*), typeof(void*), typeof(long), typeof(long)])
            ?? throw new InvalidOperationException("The compiled tier needs Buffer.MemoryCopy(void*, void*, long, long).");

        private static FieldInfo Field(string name) =>
            typeof(Cpu).GetField(name, Instance) ?? throw new InvalidOperationException($"The compiled tier needs the field Cpu.{name}.");
    }
}
