using Iced.Intel;

namespace Virt.Cpu.Decoding;

/// <summary>
/// The instructions a <see cref="CpuidModel"/> does not advertise, decided once per decode: an instruction whose CPUID
/// feature flag is clear raises #UD (Intel SDM Vol. 2A, 3.1.1.3, the "CPUID Feature Flag" column, and the "#UD If
/// CPUID.xx:yy.FEATURE = 0" lines of each instruction's exception tables). Built once per CPU
/// from its model, which is fixed for the CPU's lifetime, so a decoded block already carries <see cref="Op.Invalid"/> for
/// such an instruction and the executor checks nothing when it runs. Only the features listed here are gated; the others
/// Iced names (the processor generations, FPU, TSC, MSR, CPUID, CX8, SEP, CLFSH ...) are left as they were.
/// </summary>
internal sealed class CpuidFeatureGate
{
    /// <summary>The CPUID register a feature flag lives in.</summary>
    private enum FlagRegister
    {
        Leaf1Edx,
        Leaf1Ecx,
        Leaf7Ebx,
        Extended1Edx,
        NeverAdvertised,
    }

    /// <summary>The gated features and their flags (Intel SDM Vol. 2A, CPUID, Tables 3-10, 3-11, 3-8 and leaf 80000001h).</summary>
    private static readonly (CpuidFeature Feature, FlagRegister Register, int Bit)[] s_flags =
    [
        (CpuidFeature.CMOV, FlagRegister.Leaf1Edx, 15),
        (CpuidFeature.MMX, FlagRegister.Leaf1Edx, 23),
        (CpuidFeature.FXSR, FlagRegister.Leaf1Edx, 24),
        (CpuidFeature.SSE, FlagRegister.Leaf1Edx, 25),
        (CpuidFeature.SSE2, FlagRegister.Leaf1Edx, 26),
        (CpuidFeature.SSE3, FlagRegister.Leaf1Ecx, 0),
        (CpuidFeature.MONITOR, FlagRegister.Leaf1Ecx, 3),
        (CpuidFeature.SSSE3, FlagRegister.Leaf1Ecx, 9),
        (CpuidFeature.CMPXCHG16B, FlagRegister.Leaf1Ecx, 13),
        (CpuidFeature.SSE4_1, FlagRegister.Leaf1Ecx, 19),
        (CpuidFeature.SSE4_2, FlagRegister.Leaf1Ecx, 20),
        (CpuidFeature.POPCNT, FlagRegister.Leaf1Ecx, 23),
        (CpuidFeature.XSAVE, FlagRegister.Leaf1Ecx, 26),
        (CpuidFeature.FSGSBASE, FlagRegister.Leaf7Ebx, 0),
        (CpuidFeature.SYSCALL, FlagRegister.Extended1Edx, 11),
        (CpuidFeature.RDTSCP, FlagRegister.Extended1Edx, 27),

        // CPUID.(EAX=0Dh,ECX=1):EAX reports none of these (Cpu.Cpuid.cs), so no model advertises them.
        (CpuidFeature.XSAVEOPT, FlagRegister.NeverAdvertised, 0),
        (CpuidFeature.XSAVEC, FlagRegister.NeverAdvertised, 0),
        (CpuidFeature.XSAVES, FlagRegister.NeverAdvertised, 0),
    ];

    private readonly bool[] _missing;
    private readonly bool _lahfIn64BitMode;

    /// <summary>Builds the gate of a model.</summary>
    /// <param name="model">The CPU's CPUID model.</param>
    public CpuidFeatureGate(CpuidModel model)
    {
        int count = 0;
        foreach ((CpuidFeature feature, _, _) in s_flags)
        {
            count = Math.Max(count, (int)feature + 1);
        }

        _missing = new bool[count];
        foreach ((CpuidFeature feature, FlagRegister register, int bit) in s_flags)
        {
            uint flags = register switch
            {
                FlagRegister.Leaf1Edx => model.FeaturesEdx,
                FlagRegister.Leaf1Ecx => model.FeaturesEcx,
                FlagRegister.Leaf7Ebx => model.MaxBasicLeaf >= CpuidModel.StructuredExtendedFeaturesLeaf ? model.StructuredExtendedFeaturesEbx : 0,
                FlagRegister.Extended1Edx => model.ExtendedFeaturesEdx,
                _ => 0,
            };
            _missing[(int)feature] = (flags & (1u << bit)) == 0;
        }

        _lahfIn64BitMode = (model.ExtendedFeaturesEcx & CpuidModel.LahfFeatureEcx) != 0;
    }

    /// <summary>
    /// Whether <paramref name="instruction"/> needs a feature the model does not advertise. LAHF and SAHF need
    /// CPUID.80000001h:ECX.LAHF-SAHF in 64-bit mode only (Intel SDM Vol. 2A, LAHF; Vol. 2B, SAHF).
    /// </summary>
    public bool IsMissing(in Instruction instruction, bool code64)
    {
        if (code64 && !_lahfIn64BitMode && instruction.Mnemonic is Mnemonic.Lahf or Mnemonic.Sahf)
        {
            return true;
        }

        // Iced's table of the features each instruction needs: one shared array per instruction form, no allocation.
        foreach (CpuidFeature feature in instruction.CpuidFeatures)
        {
            if ((uint)feature < (uint)_missing.Length && _missing[(int)feature])
            {
                return true;
            }
        }

        return false;
    }
}
