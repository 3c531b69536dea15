using System.Globalization;
using System.Text;
using Virt.Machine.Acpi.Aml;

namespace Virt.Machine.Tests.Acpi.Aml;

/// <summary>A canonical text form of an AML tree, so two trees compare equal exactly when their texts do.</summary>
internal static class AmlTreeText
{
    public static string Of(IEnumerable<AmlNode> nodes)
    {
        var text = new StringBuilder();
        foreach (AmlNode node in nodes)
        {
            Write(node, text);
            text.Append(';');
        }

        return text.ToString();
    }

    private static string List(IEnumerable<AmlNode> nodes) => "{" + Of(nodes) + "}";

    private static void Write(AmlNode node, StringBuilder text)
    {
        string item = node switch
        {
            AmlInteger i => string.Create(CultureInfo.InvariantCulture, $"Int({i.Value:X})"),
            AmlString s => $"Str(\"{s.Value}\")",
            AmlBuffer b => $"Buf({Convert.ToHexString(b.Data)})",
            AmlPackage p => $"Pkg{List(p.Elements)}",
            AmlNameReference r => $"Ref({r.Path})",
            AmlArgument a => $"Arg{a.Index}",
            AmlLocal l => $"Local{l.Index}",
            AmlName n => $"Name({n.Path},{Of([n.Value])})",
            AmlScope s => $"Scope({s.Path}){List(s.Body)}",
            AmlDevice d => $"Device({d.Path}){List(d.Body)}",
            AmlMethod m => $"Method({m.Path},{m.ArgumentCount},{m.Serialized}){List(m.Body)}",
            AmlCall c => $"Call({c.Path}){List(c.Arguments)}",
            AmlIf i => $"If({Of([i.Predicate])}){List(i.Body)}" + (i.ElseBody is null ? string.Empty : $"Else{List(i.ElseBody)}"),
            AmlOperationRegion r => $"OpRegion({r.Path},{r.Space},{Of([r.Offset])},{Of([r.Length])})",
            AmlField f => $"Field({f.RegionPath},{f.Access},{f.Update})[{string.Join(',', f.Units.Select(u => $"{u.Name ?? "-"}:{u.BitLength}"))}]",
            AmlOperation o => $"{o.Opcode}{List(o.Operands)}",
            _ => throw new ArgumentException(node.GetType().Name),
        };
        text.Append(item);
    }
}
