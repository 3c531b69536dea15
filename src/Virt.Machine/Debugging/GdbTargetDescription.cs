using System.Text;

namespace Virt.Machine.Debugging;

/// <summary>
/// The target description sent for <c>qXfer:features:read:target.xml</c> (GDB manual, Appendix G "Target Descriptions"):
/// architecture i386 and the feature org.gnu.gdb.i386.core, whose registers gdb requires by name and number (G.5.1 "i386
/// Features"). The eight x87 data registers and eight x87 control registers are listed because gdb's i386 architecture
/// rejects a core feature without them; the stub reports them as unavailable (<c>x</c> digits).
/// </summary>
internal static class GdbTargetDescription
{
    /// <summary>The general registers in gdb's i386 numbering: eax, ecx, edx, ebx, esp, ebp, esi, edi, eip, eflags, cs, ss, ds, es, fs, gs.</summary>
    public const int CoreRegisterCount = 16;

    /// <summary>st0-st7 (80 bits each) and fctrl, fstat, ftag, fiseg, fioff, foseg, fooff, fop (32 bits each).</summary>
    public const int X87RegisterCount = 16;

    /// <summary>The number of x87 data registers (st0-st7), each 10 bytes.</summary>
    public const int X87DataRegisterCount = 8;

    /// <summary>The size of an x87 data register in bytes.</summary>
    public const int X87DataRegisterSizeInBytes = 10;

    /// <summary>The registers gdb knows for this target.</summary>
    public const int RegisterCount = CoreRegisterCount + X87RegisterCount;

    /// <summary>The names of the core registers, in order.</summary>
    public static readonly string[] CoreRegisterNames =
        ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags", "cs", "ss", "ds", "es", "fs", "gs"];

    private static readonly string[] s_x87ControlNames = ["fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop"];

    /// <summary>The XML document.</summary>
    public static string Xml { get; } = Build();

    /// <summary>The size of register <paramref name="number"/> in bytes.</summary>
    public static int SizeInBytes(int number) =>
        number is >= CoreRegisterCount and < CoreRegisterCount + X87DataRegisterCount ? X87DataRegisterSizeInBytes : 4;

    private static string Build()
    {
        var xml = new StringBuilder();
        xml.Append("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n");
        xml.Append("<architecture>i386</architecture>\n<feature name=\"org.gnu.gdb.i386.core\">\n");
        xml.Append("<flags id=\"i386_eflags\" size=\"4\">");
        string[] flags = ["CF", string.Empty, "PF", string.Empty, "AF", string.Empty, "ZF", "SF", "TF", "IF", "DF", "OF", string.Empty, string.Empty, "NT", string.Empty, "RF", "VM", "AC", "VIF", "VIP", "ID"];
        for (int bit = 0; bit < flags.Length; bit++)
        {
            if (flags[bit].Length != 0)
            {
                xml.Append($"<field name=\"{flags[bit]}\" start=\"{bit}\" end=\"{bit}\"/>");
            }
        }

        xml.Append("</flags>\n");
        for (int n = 0; n < CoreRegisterCount; n++)
        {
            string name = CoreRegisterNames[n];
            string type = name switch
            {
                "esp" or "ebp" => "data_ptr",
                "eip" => "code_ptr",
                "eflags" => "i386_eflags",
                _ => "int32",
            };
            xml.Append($"<reg name=\"{name}\" bitsize=\"32\" type=\"{type}\" regnum=\"{n}\"/>\n");
        }

        for (int n = 0; n < X87DataRegisterCount; n++)
        {
            xml.Append($"<reg name=\"st{n}\" bitsize=\"80\" type=\"i387_ext\" regnum=\"{CoreRegisterCount + n}\"/>\n");
        }

        for (int n = 0; n < s_x87ControlNames.Length; n++)
        {
            xml.Append($"<reg name=\"{s_x87ControlNames[n]}\" bitsize=\"32\" type=\"int\" group=\"float\" regnum=\"{CoreRegisterCount + X87DataRegisterCount + n}\"/>\n");
        }

        xml.Append("</feature>\n</target>\n");
        return xml.ToString();
    }
}
